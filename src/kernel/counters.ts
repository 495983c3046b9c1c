/** The program-wide per-CPU counters (struct audit_counters), summed over CPUs. */
import { mapLookup, possibleCpus } from "../../ffi/libbpf.ts";
import { COUNTERS_SIZE, percpuStride, sumCounters, type CounterName } from "./layout.ts";

/** Reused by every read (summed before the next can start): the agent reads the counters several times a second. */
let values: Uint8Array | undefined;
const KEY = new Uint8Array(4);

export function readCounters(fd: number): Record<CounterName, bigint> {
  const cpus = possibleCpus();
  const size = percpuStride(COUNTERS_SIZE) * cpus;
  if (values?.length !== size) values = new Uint8Array(size);
  if (!mapLookup(fd, KEY, values)) values.fill(0); // no entry: nothing counted (as a fresh buffer said before)
  return sumCounters(values, cpus);
}
