/**
 * Flow-map contents for the benches that need many flows without sending their packets (bench-agent,
 * bench-metrics, bench-attest): n distinct IPv4/TCP flows seen just now, their values on CPU 0.
 */
import { mapUpdate, possibleCpus } from "../ffi/libbpf.ts";
import { monotonicNs } from "../ffi/libc.ts";
import { encodeKey, FLOW_VALUE, percpuStride } from "../src/kernel/index.ts";

/**
 * Writes the flows (`packets` each, `bytes` = packets × 500 unless given), first and last seen now, or first
 * seen at `firstSeenNs`: a flow that grew keeps the first_seen it had, where a new first_seen is an entry the
 * kernel made anew (the collector records what the old one grew, and counts the new one whole). A map without preallocation (more
 * than 65,536 flows) takes each new entry's per-CPU value from a cache the kernel refills in the background:
 * a burst of inserts from user space meets ENOMEM now and then, and the same insert succeeds a moment later.
 */
export async function fillFlows(fd: number, n: number, o: { ifindex?: number; packets?: bigint; bytes?: bigint; firstSeenNs?: bigint } = {}): Promise<void> {
  const packets = o.packets ?? 10n;
  const value = new Uint8Array(percpuStride(FLOW_VALUE.size) * possibleCpus());
  const v = new DataView(value.buffer);
  const now = monotonicNs();
  v.setBigUint64(FLOW_VALUE.packets, packets, true);
  v.setBigUint64(FLOW_VALUE.bytes, o.bytes ?? packets * 500n, true);
  v.setBigUint64(FLOW_VALUE.firstSeenNs, o.firstSeenNs ?? now, true);
  v.setBigUint64(FLOW_VALUE.lastSeenNs, now, true);
  for (let i = 0; i < n; i++) {
    const src = new Uint8Array(16), dst = new Uint8Array(16);
    src.set([198, 18, (i >> 8) & 255, i & 255]);
    dst.set([198, 19, (i >> 16) & 255, 1]);
    const key = encodeKey({ family: 4, proto: 6, src, dst, sport: 1024 + (i % 60000), dport: 443, vlan: 0, vlanInner: 0, ifindex: o.ifindex ?? 1 });
    for (let tries = 0; ; tries++) {
      try {
        mapUpdate(fd, key, value);
        break;
      } catch (e) {
        if ((e as { errno?: number }).errno !== 12 || tries >= 1000) throw new Error(`flow ${i} of ${n}: ${(e as Error).message}`, { cause: e });
        await Bun.sleep(1);
      }
    }
  }
}
