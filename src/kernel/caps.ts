/**
 * The capabilities `ato run` needs, read from this process's effective set (/proc/self/status
 * CapEff), so that a refusal names what is missing instead of "Operation not permitted".
 * Loading an XDP program needs CAP_BPF with CAP_NET_ADMIN (XDP is a networking program type),
 * and CAP_PERFMON: without it the verifier forbids the pointer arithmetic the parser does
 * (it then reports "pointer -= pointer prohibited", not a permission error). Attaching needs
 * CAP_NET_ADMIN. Before Linux 5.8 there is no CAP_BPF or CAP_PERFMON: CAP_SYS_ADMIN stands
 * for both.
 */
import { readFileSync } from "node:fs";

export const CAPS = { CAP_NET_ADMIN: 12n, CAP_SYS_ADMIN: 21n, CAP_LINUX_IMMUTABLE: 9n, CAP_PERFMON: 38n, CAP_BPF: 39n } as const;
export type CapName = keyof typeof CAPS;

export interface CapState {
  uid: string;
  has(c: CapName): boolean;
  /** What loading and attaching still lack (empty when nothing does), in the order a fix names them. */
  missing: CapName[];
}

export function capState(status = readFileSync("/proc/self/status", "utf8")): CapState {
  const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? "0"}`);
  const has = (c: CapName) => ((eff >> CAPS[c]) & 1n) === 1n;
  const bpf = has("CAP_SYS_ADMIN") || (has("CAP_BPF") && has("CAP_PERFMON"));
  const missing: CapName[] = [
    ...(bpf || has("CAP_BPF") ? [] : ["CAP_BPF" as const]),
    ...(has("CAP_NET_ADMIN") ? [] : ["CAP_NET_ADMIN" as const]),
    ...(bpf || has("CAP_PERFMON") ? [] : ["CAP_PERFMON" as const]),
  ];
  return { uid: /^Uid:\s*\d+\s+(\d+)/m.exec(status)?.[1] ?? "?", has, missing };
}

/** "lacks CAP_BPF and CAP_PERFMON", for an error message; empty when nothing is missing. */
export function lacking(state = capState()): string {
  const m = state.missing;
  if (m.length === 0) return "";
  return `this process (uid ${state.uid}) lacks ${m.length === 1 ? m[0] : `${m.slice(0, -1).join(", ")} and ${m.at(-1)}`}`;
}

export const NEEDED = "ato run needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (CAP_SYS_ADMIN before Linux 5.8), and CAP_LINUX_IMMUTABLE for the append-only log; `ato doctor` checks them";
