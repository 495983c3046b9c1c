/**
 * How long loading xdp_audit takes with a large flow map, preallocated or not: the kernel's part
 * of start to attached. A preallocated per-CPU hash allocates every entry's value on every CPU
 * when the map is created; without preallocation entries are allocated as flows arrive.
 */
import { rmSync } from "node:fs";
import { DEFAULT_CONFIG, XdpAuditor } from "../../src/kernel/index.ts";
import { BPF_F_NO_PREALLOC, NAMES } from "./contenders.ts";

export function loadTimes(objectPath: string, pinBase: string, maxFlows: number, rounds: number) {
  const variants = [
    { name: NAMES.auditAltPrealloc, flags: 0, samples: [] as number[] },
    { name: NAMES.auditNoPrealloc, flags: BPF_F_NO_PREALLOC, samples: [] as number[] },
  ];
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const pinDir = `${pinBase}-${r}-${v.flags}`;
      try {
        const t0 = performance.now();
        const a = XdpAuditor.load({ objectPath, pinDir, maxFlows, flowMapFlags: v.flags });
        a.configure(DEFAULT_CONFIG);
        v.samples.push(performance.now() - t0);
        a.close();
      } finally {
        rmSync(pinDir, { recursive: true, force: true });
      }
    }
  }
  return variants;
}
