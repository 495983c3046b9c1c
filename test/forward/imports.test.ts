/**
 * `ato forward` runs as a sidecar on a mounted audit volume: its import graph (sinks loaded on
 * demand included) reaches neither the PKCS#11 module nor bun:ffi, nor the log's writer.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { importGraph } from "../support/imports.ts";

describe("ato forward's dependencies", () => {
  test("every sink reachable, and no pkcs11js, no bun:ffi, nothing under ffi/, no writer", () => {
    const graph = [...importGraph(resolve(import.meta.dir, "../../src/cli/forward.ts"))];
    for (const sink of ["nats/sink.ts", "syslog/sink.ts", "syslog/relp-sink.ts", "http/hec.ts", "http/clickhouse.ts", "http/elastic.ts", "http/otlp.ts", "http/loki.ts", "http/azure.ts", "http/secops.ts", "sinks/file.ts"]) {
      expect(graph.some((m) => m.endsWith(`src/forward/${sink}`))).toBe(true);
    }
    expect(graph.filter((m) => m === "pkcs11js" || m === "bun:ffi" || m.includes("/ffi/") || m.endsWith("src/log/writer.ts"))).toEqual([]);
  });
});
