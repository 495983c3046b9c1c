/**
 * Where the XDP program comes from: the path the caller resolved from --bpf-object or ATO_BPF_OBJECT (src/config),
 * otherwise the copy embedded in the binary (from source: dist/xdp_audit.o as built by scripts/build.sh).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import embeddedObject from "../../dist/xdp_audit.o" with { type: "file" };

export function bpfObjectPath(given?: string): string {
  return given || embeddedObject;
}

export function bpfObjectSha256(path: string): string {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return "missing";
  }
}
