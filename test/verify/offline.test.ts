/**
 * `ato verify` runs anywhere: its import graph reaches neither the PKCS#11 module (pkcs11js)
 * nor bun:ffi (libbpf, libc), so a laptop without an HSM library or root can run it.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { importGraph } from "../support/imports.ts";

describe("ato verify's dependencies", () => {
  test("no pkcs11js, no bun:ffi, nothing under ffi/", () => {
    const graph = [...importGraph(resolve(import.meta.dir, "../../src/cli/verify.ts"))];
    expect(graph.filter((m) => m === "pkcs11js" || m === "bun:ffi" || m.includes("/ffi/"))).toEqual([]);
    expect(graph.some((m) => m.endsWith("src/signer/verify.ts"))).toBe(true);
  });
});
