/**
 * libbpf's own messages: caught by the binding's print callback, never written to stderr, and
 * kept in the details of the AtoError of the operation that failed.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BINDING = resolve(import.meta.dir, "../../ffi/libbpf.ts");

describe("libbpf binding", () => {
  test("a BPF object libbpf cannot parse is an AtoError whose details are libbpf's own words, and stderr stays quiet", () => {
    const dir = mkdtempSync(join(tmpdir(), "ato-ffi-"));
    try {
      const path = join(dir, "not-an-object.o");
      writeFileSync(path, "this is not an ELF file\n");
      const script = `
        const { BpfObject } = await import(${JSON.stringify(BINDING)});
        try { BpfObject.open(${JSON.stringify(path)}); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, details: e.details })); }`;
      const r = Bun.spawnSync(["bun", "-e", script], { stdout: "pipe", stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      const e = JSON.parse(r.stdout.toString());
      expect(e.code).toBe("BPF");
      expect(e.message).toStartWith(`cannot open BPF object ${path}: `);
      expect(e.details).toMatch(/^libbpf: elf: .*not a proper ELF object/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
