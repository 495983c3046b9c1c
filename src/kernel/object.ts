/**
 * Where the XDP program comes from: the path the caller resolved from --bpf-object or ATO_BPF_OBJECT (src/config),
 * otherwise the copy embedded in the binary (from source: dist/xdp_audit.o as built by scripts/build.sh).
 * The embedded program has a second build for kernels before 5.12 (dist/xdp_audit_compat.o, see bpf/xdp_audit.c):
 * the loader falls back to it only when the kernel refuses the first for its global parse_l4 (src/kernel/fallback.ts).
 * A third object, the conservation check's walk of the flow map (dist/flow_sum.o), is embedded beside them.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import embeddedObject from "../../dist/xdp_audit.o" with { type: "file" };
import embeddedCompat from "../../dist/xdp_audit_compat.o" with { type: "file" };
import embeddedFlowSum from "../../dist/flow_sum.o" with { type: "file" };

/** The conservation check's flow-sum program (bpf/flow_sum.c, src/kernel/flow-sum.ts), embedded; the SBOM lists it. */
export const FLOW_SUM_OBJECT: string = embeddedFlowSum;

export function bpfObjectPath(given?: string): string {
  return given || embeddedObject;
}

/** The object to try when the first is refused for its global function: none for an object the user named. */
export function bpfCompatPath(given?: string): string | undefined {
  return given ? undefined : embeddedCompat;
}

/** How a log line or a report names an object: embedded copies by their build name (their path in the binary is hashed). */
export function bpfObjectName(path: string): string {
  if (path === embeddedObject) return "xdp_audit.o (embedded)";
  if (path === embeddedCompat) return "xdp_audit_compat.o (embedded, for kernels before 5.12)";
  return path;
}

export function bpfObjectSha256(path: string): string {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return "missing";
  }
}
