/**
 * `ato verify` runs anywhere: its import graph reaches neither the PKCS#11 module (pkcs11js)
 * nor bun:ffi (libbpf, libc), so a laptop without an HSM library or root can run it.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.path.startsWith(".")) visit(resolve(dirname(file), imp.path));
      else seen.add(imp.path);
    }
  };
  visit(entry);
  return seen;
}

describe("ato verify's dependencies", () => {
  test("no pkcs11js, no bun:ffi, nothing under ffi/", () => {
    const graph = [...importGraph(resolve(import.meta.dir, "../../src/cli/verify.ts"))];
    expect(graph.filter((m) => m === "pkcs11js" || m === "bun:ffi" || m.includes("/ffi/"))).toEqual([]);
    expect(graph.some((m) => m.endsWith("src/signer/verify.ts"))).toBe(true);
  });
});
