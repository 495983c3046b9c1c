/**
 * `ato verify` runs anywhere: its import graph reaches neither the PKCS#11 module (pkcs11js)
 * nor libbpf or libc, so a laptop without an HSM library or root can run it. The one binding it
 * may load is the optional SHA-NI hasher (ffi/sha256.ts, through ffi/native.ts), which falls
 * back to Bun.SHA256 when it cannot load (test/verify/native-report.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { importGraph } from "../support/imports.ts";

const OPTIONAL_FFI = ["/ffi/sha256.ts", "/ffi/native.ts"];

describe("ato verify's dependencies", () => {
  test("no pkcs11js, and nothing under ffi/ but the optional hasher", () => {
    const graph = [...importGraph(resolve(import.meta.dir, "../../src/cli/verify.ts"))];
    expect(graph.filter((m) => m === "pkcs11js" || (m.includes("/ffi/") && !OPTIONAL_FFI.some((f) => m.endsWith(f))))).toEqual([]);
    expect(graph.some((m) => m.endsWith("src/signer/verify.ts"))).toBe(true);
  });
});
