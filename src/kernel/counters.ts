/** The program-wide per-CPU counters (struct audit_counters), summed over CPUs. */
import { mapLookup, possibleCpus } from "../../ffi/libbpf.ts";
import { COUNTERS_SIZE, percpuStride, sumCounters, type CounterName } from "./layout.ts";

export function readCounters(fd: number): Record<CounterName, bigint> {
  const cpus = possibleCpus();
  const values = new Uint8Array(percpuStride(COUNTERS_SIZE) * cpus);
  mapLookup(fd, new Uint8Array(4), values);
  return sumCounters(values, cpus);
}
