/**
 * Reads the per-CPU flow map: every flow with its counters summed over the possible CPUs.
 * Batch lookups are used where the kernel has them (one syscall per few thousand flows, and
 * no restart when a key is deleted under get_next_key); key-by-key iteration is the fallback
 * only when the kernel says batch lookups are not supported for the map. Any other failure of
 * a batch call is an AtoError with libbpf's messages, never a silent switch to the slow path.
 *
 * `batches()` hands out the kernel's buffers in place, one reused FlowBatch at a time, so a
 * reader that only compares counts (the collector, every cycle, for every flow) allocates
 * nothing per flow; `FlowBatch.flow(i)` decodes one flow into objects when it is needed.
 */
import { mapLookup, mapLookupAndDelete, mapLookupBatch, mapNextKey, possibleCpus } from "../../ffi/libbpf.ts";
import { AtoError } from "../errors.ts";
import { decodeKey, FLOW_KEY, FLOW_VALUE, percpuStride, sumPerCpu, type FlowCounts, type FlowKey } from "./layout.ts";

export interface Flow {
  key: FlowKey;
  /** The raw struct flow_key, to delete or look the flow up again. */
  rawKey: Uint8Array;
  counts: FlowCounts;
}

export type ReadMethod = "batch" | "keys";

/** A flow's counters summed over CPUs as Numbers (kernel ns exact to 104 days of uptime): see FlowBatch.countsInto. */
export interface FlowNumbers {
  packets: number;
  bytes: number;
  firstSeenNs: number;
  lastSeenNs: number;
  tcpFlags: number;
  fragments: number;
  timingFlags: number;
  spikes: number;
}

/** FlowCounts (BigInt sums) as Numbers, the way countsInto gives them. */
export function flowNumbers(c: FlowCounts): FlowNumbers {
  return { packets: Number(c.packets), bytes: Number(c.bytes), firstSeenNs: Number(c.firstSeenNs), lastSeenNs: Number(c.lastSeenNs), tcpFlags: c.tcpFlags, fragments: c.fragments, timingFlags: c.timingFlags, spikes: c.spikes };
}

const STRIDE = percpuStride(FLOW_VALUE.size);
const TWO32 = 4294967296;

/** Up to `capacity` flows as the kernel wrote them: keys and per-CPU values side by side. */
export class FlowBatch {
  n = 0;
  readonly keys: Uint8Array;
  /** The keys as 32-bit words (12 per flow), for hashing and comparing without copies. */
  readonly keyWords: Uint32Array;
  readonly values: Uint8Array;
  /** The per-CPU values as 32-bit words (a flow's values start at word i * valueBytes / 4), for the collector's batch scan. */
  readonly valueWords: Uint32Array;
  /** Bytes of one flow's values: the per-CPU stride times the possible CPUs. */
  readonly valueBytes: number;

  constructor(readonly capacity: number, readonly cpus: number) {
    this.valueBytes = STRIDE * cpus;
    this.keys = new Uint8Array(capacity * FLOW_KEY.size);
    this.keyWords = new Uint32Array(this.keys.buffer);
    this.values = new Uint8Array(capacity * this.valueBytes);
    this.valueWords = new Uint32Array(this.values.buffer);
  }

  /** Packets of flow i summed over CPUs (a Number: exact below 2^53). */
  packets(i: number): number {
    return this.sumU64(i, FLOW_VALUE.packets);
  }

  bytes(i: number): number {
    return this.sumU64(i, FLOW_VALUE.bytes);
  }

  /** The latest last_seen over CPUs, in kernel nanoseconds (as a Number: ns precision to 104 days of uptime, 2 ns to 208). */
  lastSeenNs(i: number): number {
    let max = 0;
    const base = (i * this.valueBytes + FLOW_VALUE.lastSeenNs) >> 2;
    for (let c = 0; c < this.cpus; c++) {
      const w = base + c * (STRIDE >> 2);
      const t = this.valueWords[w]! + this.valueWords[w + 1]! * TWO32;
      if (t > max) max = t;
    }
    return max;
  }

  /**
   * Flow i's counters summed over CPUs into `out` (reused: no object, no BigInt), as
   * sumPerCpu sums them: first_seen the earliest and last_seen the latest of the CPUs that
   * saw the flow, TCP flags OR'd, the rest added.
   */
  countsInto(i: number, out: FlowNumbers): FlowNumbers {
    const w = this.valueWords, step = STRIDE >> 2;
    let packets = 0, bytes = 0, first = 0, last = 0, tcpFlags = 0, fragments = 0, timingFlags = 0, spikes = 0;
    for (let c = 0, o = (i * this.valueBytes) >> 2; c < this.cpus; c++, o += step) {
      const p = w[o + (FLOW_VALUE.packets >> 2)]! + w[o + (FLOW_VALUE.packets >> 2) + 1]! * TWO32;
      if (p === 0) continue; // this CPU never saw the flow
      packets += p;
      bytes += w[o + (FLOW_VALUE.bytes >> 2)]! + w[o + (FLOW_VALUE.bytes >> 2) + 1]! * TWO32;
      const f = w[o + (FLOW_VALUE.firstSeenNs >> 2)]! + w[o + (FLOW_VALUE.firstSeenNs >> 2) + 1]! * TWO32;
      const l = w[o + (FLOW_VALUE.lastSeenNs >> 2)]! + w[o + (FLOW_VALUE.lastSeenNs >> 2) + 1]! * TWO32;
      if (first === 0 || f < first) first = f;
      if (l > last) last = l;
      tcpFlags |= w[o + (FLOW_VALUE.tcpFlags >> 2)]!;
      fragments += w[o + (FLOW_VALUE.fragments >> 2)]!;
      timingFlags += w[o + (FLOW_VALUE.timingFlags >> 2)]!;
      spikes += w[o + (FLOW_VALUE.spikes >> 2)]!;
    }
    out.packets = packets; out.bytes = bytes; out.firstSeenNs = first; out.lastSeenNs = last;
    out.tcpFlags = tcpFlags >>> 0; out.fragments = fragments; out.timingFlags = timingFlags; out.spikes = spikes;
    return out;
  }

  /** Flow i's IP protocol, read from its key in place. */
  proto(i: number): number {
    return this.keys[i * FLOW_KEY.size + FLOW_KEY.proto]!;
  }

  /** Flow i decoded and copied out of the batch. */
  flow(i: number): Flow {
    const k = i * FLOW_KEY.size;
    return { key: decodeKey(this.keys, k), rawKey: this.keys.slice(k, k + FLOW_KEY.size), counts: sumPerCpu(this.values, i * this.valueBytes, this.cpus) };
  }

  private sumU64(i: number, field: number): number {
    let sum = 0;
    const base = (i * this.valueBytes + field) >> 2;
    for (let c = 0; c < this.cpus; c++) {
      const w = base + c * (STRIDE >> 2);
      sum += this.valueWords[w]! + this.valueWords[w + 1]! * TWO32;
    }
    return sum;
  }
}

export class FlowMapReader {
  readonly cpus = possibleCpus();
  private readonly valueBytes = STRIDE * this.cpus;
  private batch: FlowBatch;
  private batchSupported = true;

  /** How the map is read: "keys" once the kernel said this map has no batch lookups. */
  get method(): ReadMethod {
    return this.batchSupported ? "batch" : "keys";
  }

  constructor(private readonly fd: number, batchSize = 4096) {
    this.batch = new FlowBatch(batchSize, this.cpus);
  }

  /** Every flow in the map, decoded. `method` forces one way of reading (for benchmarks and tests). */
  readAll(method?: ReadMethod): Flow[] {
    const out: Flow[] = [];
    for (const b of this.batches(method)) for (let i = 0; i < b.n; i++) out.push(b.flow(i));
    return out;
  }

  /**
   * The map's flows, one batch at a time. The same FlowBatch object is refilled for each
   * step: read what is needed from it before asking for the next.
   */
  *batches(method?: ReadMethod): Generator<FlowBatch> {
    if (method !== "keys" && this.batchSupported) {
      const done = yield* this.batched(method === "batch");
      if (done) return;
    }
    yield* this.byKey();
  }

  /** Removes a flow and returns its final counts (null if it was gone already). */
  take(rawKey: Uint8Array): Flow | null {
    const value = new Uint8Array(this.valueBytes);
    if (!mapLookupAndDelete(this.fd, rawKey, value)) return null;
    const k = decodeKey(rawKey, 0);
    return { key: k, rawKey: rawKey.slice(), counts: sumPerCpu(value, 0, this.cpus) };
  }

  /** False when the kernel has no batch lookups for this map (then nothing was yielded). */
  private *batched(required: boolean): Generator<FlowBatch, boolean> {
    const token = new Uint8Array(8);
    let first = true;
    for (;;) {
      const b = this.batch;
      const r = mapLookupBatch(this.fd, token, first, b.keys, b.values, b.capacity);
      if (r.unsupported) {
        if (first && !required) { this.batchSupported = false; return false; }
        throw new AtoError(`the kernel does not support batch lookups on this map (fd ${this.fd}${first ? "" : ", after earlier batches worked"})`, "BPF");
      }
      if (r.tooSmall) { // a bucket holds more flows than the batch: retry with room for it
        this.batch = new FlowBatch(b.capacity * 2, this.cpus);
        continue;
      }
      b.n = r.n;
      if (b.n > 0) yield b;
      if (r.done) return true;
      first = false;
    }
  }

  private *byKey(): Generator<FlowBatch> {
    const b = this.batch;
    const value = new Uint8Array(this.valueBytes);
    const next = new Uint8Array(FLOW_KEY.size);
    const key = new Uint8Array(FLOW_KEY.size);
    let started = false;
    b.n = 0;
    while (mapNextKey(this.fd, started ? key : null, next)) {
      key.set(next);
      started = true;
      if (!mapLookup(this.fd, key, value)) continue; // deleted between the two calls
      b.keys.set(key, b.n * FLOW_KEY.size);
      b.values.set(value, b.n * this.valueBytes);
      if (++b.n === b.capacity) { yield b; b.n = 0; }
    }
    if (b.n > 0) yield b;
  }
}
