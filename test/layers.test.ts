/**
 * Dependencies run one way. Every import in src/ and ffi/ (static, dynamic, and re-exports) is read from the
 * source and checked against the layers below: a module may import its own folder or a folder of a lower
 * layer, never one beside or above it. Commands reach the kernel through src/kernel, not ffi/, and folder
 * indexes list their names (no `export *`). A new folder must be given its layer here.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

/** Bottom to top. A folder imports only folders of lower layers (and itself). */
const LAYERS: string[][] = [
  ["src/errors.ts", "src/version.ts"],
  ["ffi"],
  ["src/tree", "src/mask"],
  ["src/evidence", "src/ipfix", "src/detect", "src/trace"],
  ["src/config"],
  ["src/kernel", "src/signer"],
  ["src/log"],
  ["src/witness", "src/forward"],
  ["src/retain"],
  ["src/verify", "src/collector"],
  ["src/metrics", "src/attest", "src/collect"],
  ["src/agent"],
  ["src/cli"],
  ["src/main.ts"],
];
const RANK = new Map(LAYERS.flatMap((names, rank) => names.map((n) => [n, rank] as const)));

function unitOf(file: string): string | undefined {
  const rel = relative(root, file);
  if (RANK.has(rel)) return rel;
  const parts = rel.split("/");
  const folder = parts[0] === "ffi" ? "ffi" : parts.slice(0, 2).join("/");
  return parts.length > (parts[0] === "ffi" ? 1 : 2) ? folder : undefined;
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name));
}

interface Edge { from: string; to: string; spec: string }

/** Relative imports of one file: `import … from`, `export … from`, `import("…")`, bare `import "…"`. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, "utf8").replace(/^\s*(\/\/|\*).*$/gm, "");
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)"(\.{1,2}\/[^"]+)"/gm)].map((m) => m[1]!);
  return specs.filter((s) => s.endsWith(".ts")).map((spec) => ({ from: file, to: resolve(dirname(file), spec), spec }));
}

const files = [...sources("src"), ...sources("ffi")];
const edges = files.flatMap(importsOf);

describe("layers", () => {
  test("every file of src/ and ffi/ is in a layer", () => {
    const unplaced = [...new Set(files.map((f) => unitOf(f) ?? relative(root, f)).filter((u) => !RANK.has(u)))];
    expect(unplaced).toEqual([]);
  });

  test("the import scan sees the imports (it cannot pass on an empty list)", () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges.some((e) => relative(root, e.from) === "src/main.ts" && e.spec === "./cli/index.ts")).toBe(true);
  });

  test("no import goes sideways or up", () => {
    const bad = edges
      .map((e) => ({ ...e, a: unitOf(e.from)!, b: unitOf(e.to)! }))
      .filter((e) => e.a !== e.b && !(RANK.get(e.b)! < RANK.get(e.a)!))
      .map((e) => `${relative(root, e.from)} imports ${e.spec} (${e.a}, layer ${RANK.get(e.a)}, may not import ${e.b}, layer ${RANK.get(e.b)})`);
    expect(bad).toEqual([]);
  });

  test("commands reach the kernel through src/kernel, never ffi/ directly", () => {
    const direct = edges.filter((e) => unitOf(e.from) === "src/cli" && unitOf(e.to) === "ffi").map((e) => `${relative(root, e.from)} imports ${e.spec}`);
    expect(direct).toEqual([]);
  });

  test("the metrics server never touches FFI or the kernel: it is given numbers", () => {
    const reach = edges.filter((e) => unitOf(e.from) === "src/metrics" && ["ffi", "src/kernel"].includes(unitOf(e.to)!)).map((e) => `${relative(root, e.from)} imports ${e.spec}`);
    expect(reach).toEqual([]);
  });

  test("folder indexes export names, not *", () => {
    const star = files.filter((f) => f.endsWith("/index.ts") && /^\s*export\s*\*/m.test(readFileSync(f, "utf8"))).map((f) => relative(root, f));
    expect(star).toEqual([]);
  });
});
