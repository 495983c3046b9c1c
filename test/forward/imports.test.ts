/**
 * `ato forward` runs as a sidecar on a mounted audit volume: its import graph (sinks loaded on
 * demand included) reaches neither the PKCS#11 module nor bun:ffi, nor the log's writer.
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
      if (imp.path.endsWith(".json")) continue; // package.json (the version), not code
      if (imp.path.startsWith(".")) visit(resolve(dirname(file), imp.path));
      else seen.add(imp.path);
    }
  };
  visit(entry);
  return seen;
}

describe("ato forward's dependencies", () => {
  test("every sink reachable, and no pkcs11js, no bun:ffi, nothing under ffi/, no writer", () => {
    const graph = [...importGraph(resolve(import.meta.dir, "../../src/cli/forward.ts"))];
    for (const sink of ["nats/sink.ts", "syslog/sink.ts", "syslog/relp-sink.ts", "http/hec.ts", "http/clickhouse.ts", "http/elastic.ts", "http/otlp.ts", "http/loki.ts", "http/azure.ts", "http/secops.ts", "sinks/file.ts"]) {
      expect(graph.some((m) => m.endsWith(`src/forward/${sink}`))).toBe(true);
    }
    expect(graph.filter((m) => m === "pkcs11js" || m === "bun:ffi" || m.includes("/ffi/") || m.endsWith("src/log/writer.ts"))).toEqual([]);
  });
});
