/**
 * Reads the per-CPU flow map: every flow with its counters summed over the possible CPUs.
 * Batch lookups are used where the kernel has them (one syscall per few thousand flows, and
 * no restart when a key is deleted under get_next_key); key-by-key iteration is the fallback.
 */
import { mapLookup, mapLookupAndDelete, mapLookupBatch, mapNextKey, possibleCpus } from "../../ffi/libbpf.ts";
import { decodeKey, FLOW_KEY, FLOW_VALUE, percpuStride, sumPerCpu, type FlowCounts, type FlowKey } from "./layout.ts";

export interface Flow {
  key: FlowKey;
  /** The raw struct flow_key, to delete or look the flow up again. */
  rawKey: Uint8Array;
  counts: FlowCounts;
}

export type ReadMethod = "batch" | "keys";

export class FlowMapReader {
  readonly cpus = possibleCpus();
  private readonly valueBytes = percpuStride(FLOW_VALUE.size) * this.cpus;
  private batchSize: number;
  private batchSupported = true;

  constructor(private readonly fd: number, batchSize = 4096) {
    this.batchSize = batchSize;
  }

  /** Every flow in the map. `method` forces one way of reading (for benchmarks and tests). */
  readAll(method?: ReadMethod): Flow[] {
    if (method !== "keys" && this.batchSupported) {
      const flows = this.readBatched();
      if (flows) return flows;
      if (method === "batch") throw new Error("unreachable: batch lookups unsupported");
    }
    return this.readByKey();
  }

  /** Removes a flow and returns its final counts (null if it was gone already). */
  take(rawKey: Uint8Array): Flow | null {
    const value = new Uint8Array(this.valueBytes);
    return mapLookupAndDelete(this.fd, rawKey, value) ? this.flowAt(rawKey, 0, value, 0) : null;
  }

  private readBatched(): Flow[] | null {
    const out: Flow[] = [];
    const token = new Uint8Array(8);
    let first = true;
    // One pair of buffers per read (flowAt copies out of them), larger only after ENOSPC.
    let keys = new Uint8Array(this.batchSize * FLOW_KEY.size);
    let values = new Uint8Array(this.batchSize * this.valueBytes);
    for (;;) {
      let r;
      try {
        r = mapLookupBatch(this.fd, token, first, keys, values, this.batchSize);
      } catch (e) {
        // EINVAL/ENOTSUPP on kernels without batch ops for this map type: fall back.
        if (first && out.length === 0) { this.batchSupported = false; return null; }
        throw e;
      }
      if (r.tooSmall) { // a bucket holds more flows than the batch: retry with room for it
        this.batchSize *= 2;
        keys = new Uint8Array(this.batchSize * FLOW_KEY.size);
        values = new Uint8Array(this.batchSize * this.valueBytes);
        continue;
      }
      for (let i = 0; i < r.n; i++) out.push(this.flowAt(keys, i * FLOW_KEY.size, values, i * this.valueBytes));
      if (r.done) return out;
      first = false;
    }
  }

  private readByKey(): Flow[] {
    const out: Flow[] = [];
    const value = new Uint8Array(this.valueBytes);
    let key: Uint8Array | null = null;
    const next = new Uint8Array(FLOW_KEY.size);
    while (mapNextKey(this.fd, key, next)) {
      const k = next.slice();
      if (mapLookup(this.fd, k, value)) out.push(this.flowAt(k, 0, value, 0));
      key = k;
    }
    return out;
  }

  private flowAt(keys: Uint8Array, k: number, values: Uint8Array, v: number): Flow {
    return { key: decodeKey(keys, k), rawKey: keys.slice(k, k + FLOW_KEY.size), counts: sumPerCpu(values, v, this.cpus) };
  }
}
