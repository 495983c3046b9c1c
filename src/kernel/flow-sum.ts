/**
 * The flow map's packet sum computed in the kernel (bpf/flow_sum.c): one BPF_PROG_TYPE_SYSCALL program,
 * loaded against the agent's own flow map (its fd reused, no map of its own) and run through
 * BPF_PROG_TEST_RUN, walks the map and hands back two numbers: the entries and their packets summed over
 * every possible CPU. The conservation check uses it when the collector did not read the map in its
 * interval (src/attest/conservation.ts): the kernel then copies no entry to user space and no per-CPU value
 * is summed in JavaScript (scripts/bench-attest.ts has the figures beside the batch-lookup read).
 *
 * It needs bpf_map_lookup_percpu_elem (Linux 5.19) and syscall programs (5.14): where the kernel refuses
 * it, open() says why and the caller reads the map with batch lookups. Its own object file, embedded in
 * the binary beside xdp_audit.o, which stays as attested.
 *
 * Where its time goes (this 2-CPU VM): the walk visits every bucket (the map's size, not its flows), taking and
 * dropping the RCU read lock at each (~15 ns a bucket with this kernel's mitigations: ~1.1 ms for an empty
 * 65,536-entry map, where batch lookups step over empty buckets under one lock in ~0.25 ms, which is why the
 * check reads a sparse map with those: src/attest/conservation.ts), and for each flow one hashed lookup per other
 * CPU (~2/3 of the walk at 1 M flows, cache misses). Measured and not taken: one walk per CPU, pinned there (each
 * reads only its own values, no lookups): every walk visits every bucket again, 1.3-1.7x the CPU at 4,096 flows
 * in 65,536 entries on 2 CPUs, about even with this walk at 4,096 in 4,096. A map-element iterator would
 * get every CPU's value without the lookups, but is a tracing program, which this VM's kernel refuses
 * (EPERM at load, as root, with /sys/kernel/btf/vmlinux present); this program is not. One run is one syscall: at 1 M flows ~0.4 s in the
 * kernel without a reschedule point on a kernel built without preemption (a batch read returns every 1,024).
 */
import { BpfObject, mapInfo, possibleCpus, testRunSyscall } from "../../ffi/libbpf.ts";
import { AtoError } from "../errors.ts";
import { MAPS } from "./loader.ts";
import { FLOW_SUM_OBJECT as embeddedFlowSum } from "./object.ts";

export const FLOW_SUM_PROGRAM = "flow_sum";
/** As FLOW_SUM_MAX_CPUS in bpf/flow_sum.c: the program's loop over CPUs ends there. */
const MAX_CPUS = 1024;
/** struct flow_sum_ctx: cpus@0 (u32), missing@4 (u32), flows@8 (u64), packets@16 (u64). */
const CTX = { size: 24, cpus: 0, missing: 4, flows: 8, packets: 16 } as const;

export interface KernelSum {
  flows: number;
  /** Exact: the kernel adds u64s. */
  packets: bigint;
  /** Entries deleted between the walk's visit and a per-CPU lookup (counted in flows, partly in packets). */
  missing: number;
}

/** Why the program is not used: what the kernel (or libbpf) said, for the agent's log. */
export interface FlowSumRefused { refused: string }

export class FlowSum {
  private readonly ctx = new Uint8Array(CTX.size);
  private readonly view = new DataView(this.ctx.buffer);

  /**
   * @param buckets the kernel's buckets of the flow map (its capacity rounded up to a power of two), which a
   * walk visits whatever the map holds.
   */
  private constructor(private obj: BpfObject | null, readonly progFd: number, cpus: number, readonly buckets: number) {
    this.view.setUint32(CTX.cpus, cpus, true);
  }

  /**
   * Loads the program against `flowMapFd`. A kernel that refuses it (too old, no CAP_BPF for a syscall
   * program) is an answer, not a failure: { refused } says why. `objectPath` is the embedded object unless given.
   */
  static open(flowMapFd: number, objectPath: string = embeddedFlowSum): FlowSum | FlowSumRefused {
    const cpus = possibleCpus();
    if (cpus > MAX_CPUS) return { refused: `${cpus} possible CPUs, more than the program's loop covers (${MAX_CPUS})` };
    let obj: BpfObject | undefined;
    try {
      obj = BpfObject.open(objectPath, { reuseMaps: { [MAPS.flows]: flowMapFd }, objectName: FLOW_SUM_PROGRAM });
      obj.load();
      return new FlowSum(obj, obj.programFd(FLOW_SUM_PROGRAM), cpus, 2 ** Math.ceil(Math.log2(Math.max(1, mapInfo(flowMapFd).maxEntries))));
    } catch (e) {
      obj?.close();
      if (e instanceof AtoError && (e.code === "VERIFIER" || e.code === "BPF" || e.code === "PERMISSION" || e.code === "NOT_FOUND" || e.code === "BUSY")) {
        // the embedded copy's path in the binary is hashed (/$bunfs/...): named by its build name instead
        return { refused: objectPath === embeddedFlowSum ? e.message.replaceAll(objectPath, "flow_sum.o (embedded)") : e.message };
      }
      throw e;
    }
  }

  /** One walk of the map in the kernel. */
  sum(): KernelSum {
    if (!this.obj) throw new AtoError("the flow-sum program was used after close", "INTERNAL");
    testRunSyscall(this.progFd, this.ctx);
    const v = this.view;
    return { flows: Number(v.getBigUint64(CTX.flows, true)), packets: v.getBigUint64(CTX.packets, true), missing: v.getUint32(CTX.missing, true) };
  }

  close(): void {
    this.obj?.close();
    this.obj = null;
  }
}
