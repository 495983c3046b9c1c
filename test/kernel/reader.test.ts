/**
 * The flow map reader on the real per-CPU map: batch lookups and the key-by-key fallback see
 * the same flows with the same sums, across batch boundaries and a bucket larger than the
 * batch. Needs root (bpffs).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mapUpdate, possibleCpus } from "../../ffi/libbpf.ts";
import { encodeKey, FLOW_VALUE, FlowMapReader, flowNumbers, percpuStride, type Flow } from "../../src/kernel/index.ts";
import { loadForTest } from "../support/bpf.ts";

const CPUS = possibleCpus();
const STRIDE = percpuStride(FLOW_VALUE.size);
let bpf: ReturnType<typeof loadForTest>;

beforeAll(() => {
  bpf = loadForTest({}, 8192);
  const value = new Uint8Array(STRIDE * CPUS);
  const v = new DataView(value.buffer);
  for (let i = 0; i < 5000; i++) {
    for (let c = 0; c < CPUS; c++) {
      // Every field differs per CPU, so that sums, minima, maxima and ORs are all exercised.
      v.setBigUint64(c * STRIDE + FLOW_VALUE.firstSeenNs, BigInt(500_000 * (i + 1) - 7 * c), true);
      v.setUint32(c * STRIDE + FLOW_VALUE.tcpFlags, (1 << (c % 8)) | (i & 0x30), true);
      v.setUint32(c * STRIDE + FLOW_VALUE.fragments, c + (i % 3), true);
      v.setUint32(c * STRIDE + FLOW_VALUE.timingFlags, i % 4, true);
      v.setUint32(c * STRIDE + FLOW_VALUE.spikes, (i + c) % 2, true);
      v.setBigUint64(c * STRIDE + FLOW_VALUE.packets, BigInt(i + c + 1), true);
      v.setBigUint64(c * STRIDE + FLOW_VALUE.bytes, BigInt((i + c + 1) * 60), true);
      v.setBigUint64(c * STRIDE + FLOW_VALUE.lastSeenNs, BigInt(1_000_000 * (i + 1) + c), true);
    }
    const src = new Uint8Array(16), dst = new Uint8Array(16);
    src.set([198, 18, i >> 8, i & 255]);
    dst.set([198, 19, 0, 1]);
    mapUpdate(bpf.auditor.mapFd("flows"), encodeKey({ family: 4, proto: 17, src, dst, sport: i, dport: 53, vlan: 0, vlanInner: 0, ifindex: 1 }), value);
  }
});
afterAll(() => bpf?.cleanup());

const byKey = (flows: Flow[]) => new Map(flows.map((f) => [Buffer.from(f.rawKey).toString("hex"), f.counts]));

describe("FlowMapReader", () => {
  test("batch lookups and key-by-key iteration read the same flows with the same per-CPU sums", () => {
    const batch = byKey(new FlowMapReader(bpf.auditor.mapFd("flows"), 64).readAll("batch"));
    const keys = byKey(new FlowMapReader(bpf.auditor.mapFd("flows"), 64).readAll("keys"));
    expect(batch.size).toBe(5000);
    expect(keys).toEqual(batch);
    const sport9 = [...batch.values()].find((c) => c.bytes === BigInt(60 * (CPUS * 10 + (CPUS * (CPUS - 1)) / 2)));
    expect(sport9?.packets).toBe(BigInt(CPUS * 10 + (CPUS * (CPUS - 1)) / 2));
  });

  test("a batch of one flow grows when a hash bucket holds more (ENOSPC), and nothing is skipped", () => {
    expect(new FlowMapReader(bpf.auditor.mapFd("flows"), 1).readAll("batch")).toHaveLength(5000);
  });

  test("the in-place batch view sums what the decoded flow sums", () => {
    const reader = new FlowMapReader(bpf.auditor.mapFd("flows"), 256);
    const out = flowNumbers({ packets: 0n, bytes: 0n, firstSeenNs: 0n, lastSeenNs: 0n, tcpFlags: 0, fragments: 0, timingFlags: 0, spikes: 0 });
    let n = 0;
    for (const b of reader.batches()) {
      for (let i = 0; i < b.n; i++, n++) {
        const f = b.flow(i);
        expect(b.packets(i)).toBe(Number(f.counts.packets));
        expect(b.bytes(i)).toBe(Number(f.counts.bytes));
        expect(b.lastSeenNs(i)).toBe(Number(f.counts.lastSeenNs));
        expect(b.countsInto(i, out)).toEqual(flowNumbers(f.counts));
        expect(b.proto(i)).toBe(f.key.proto);
      }
    }
    expect(n).toBe(5000);
  });
});
