/**
 * The conservation check: every well-formed IP packet the XDP program saw is in one of three places, and the
 * kernel's own per-CPU counters say how many there were:
 *
 *   ipv4 + ipv6 - map_full   (audit_counters: packets that went into a flow)
 *     =  Σ packets of the flows in flow_map          (read now)
 *     +  Σ final packets of the flows the collector removed (lookup-and-delete, counted as it happens)
 *     +  what was removed before this agent started (taken as the difference at start)
 *
 * The counters are read just before and just after the map, so packets arriving during the read only widen
 * the bracket, never raise a finding. A collector cycle that read the whole map hands over the packet sum it made
 * anyway (readHook), bracketed by the counters, before it removes idle flows, and the agent checks it in the same
 * interval (src/attest/agent-operation.ts). Where no cycle read the map (nothing needed it: a quiet host, or a
 * busy one nobody scrapes with no timeout due (src/collector/collector.ts); a failed cycle), the check reads it
 * itself, at the agent's cadence (ATO_CONSERVATION_EVERY: one checkpoint period by default), and once more at
 * the stop, so a tampering is found within that many intervals either way. That read is the
 * kernel's own walk of the map when the agent could load it (src/kernel/flow-sum.ts: two numbers back, no entry
 * copied out), else batch lookups summed here (kernels before 5.19, or ATO_CONSERVATION_SUM=batch); also while
 * the map is sparse (KERNEL_WALK_BUCKETS_PER_FLOW), where batch lookups cost less. Either is a whole read. A flow deleted or lowered from outside (bpftool map delete / update)
 * leaves the map short of the counters: `counts_missing`; a flow raised or invented: `counts_added`. After a
 * finding the difference becomes the new base, so one tampering is one record. Its cost, beside the collector
 * cycle's: scripts/bench-attest.ts (docs/OPERATIONS.md has the figures and the whole list below).
 * What it cannot see: a write that keeps the map's packet sum (one flow lowered, another raised by as much, or a
 * flow's key rewritten with its counts),
 * bytes and timestamps (only packets are conserved by a counter), a tampering of the counters map itself that
 * matches the flow map, packets dropped before XDP saw them, and a tampering in the intervals between the last
 * check and a stop that never ran (kill -9, the OOM killer, power loss): the next start takes the map as it finds it.
 */
import type { CounterName, Flow, FlowMapReader, KernelSum } from "../kernel/index.ts";
import type { MapReadHook } from "../collector/index.ts";
import { AtoError } from "../errors.ts";
import type { TamperFinding } from "./self-check.ts";

export interface ConservationSources {
  reader: FlowMapReader;
  counters: () => Record<CounterName, bigint>;
  /** The map's sum walked in the kernel (FlowSum); without it the check reads the map with batch lookups. */
  kernelSum?: KernelWalk;
  /** The kernel walk is used while the check before found at most this many flows (KERNEL_WALK_MAX_FLOWS unless given). */
  kernelWalkMaxFlows?: number;
  /** ... and at least this many (the walk's buckets / KERNEL_WALK_BUCKETS_PER_FLOW unless given). */
  kernelWalkMinFlows?: number;
  /** Told once if a kernel walk fails (the kernel's error): the check then reads with batch lookups for good. */
  onWalkFailed?: (e: AtoError) => void;
}

/**
 * One walk is one syscall with no reschedule point: ~25 ms at 65,536 flows, ~0.4 s at 1 M on this VM, in a
 * kernel built without preemption a CPU the host's other work cannot have meanwhile. A bigger map is read with
 * batch lookups (back to user space every 4,096 entries) although the walk would cost less CPU (1.2-1.6x at 1 M).
 */
export const KERNEL_WALK_MAX_FLOWS = 65_536;

/**
 * Below one flow in this many buckets, batch lookups read the map for less CPU than the walk. The walk takes and
 * drops the RCU read lock at every bucket (~15 ns each on this VM: 1.2-1.3 ms for an empty 65,536-entry map), where
 * a batch lookup steps over empty buckets under one lock (~0.35 ms); a flow costs the walk ~0.3 µs and batch
 * lookups ~0.6 (locks, copies out, the sum here). scripts/bench-attest.ts --sums --sum-gap-ms 250: about even at
 * 2,048 flows in 65,536 entries, the walk ahead at 4,096 (docs/OPERATIONS.md).
 */
export const KERNEL_WALK_BUCKETS_PER_FLOW = 25;

/** The kernel's walk of the map (FlowSum): its sum, and how many buckets it visits whatever the map holds. */
export interface KernelWalk { sum(): KernelSum; readonly buckets: number }

/** Where a check's sum of the map came from: the collector's read, the kernel's walk, or batch lookups read here. */
export type SumSource = "collector" | "kernel" | "batch";

const flowed = (c: Record<CounterName, bigint>) => c.ipv4 + c.ipv6 - c.map_full;

interface Measure { before: bigint; after: bigint; inMap: bigint; flows: number; removed: bigint; by: SumSource }

export class Conservation {
  private removed = 0n;
  private low = 0n;
  private high = 0n;
  /** The collector's last whole read since the last check, and the counters before it (begin). */
  private read?: Measure;
  private readBefore?: bigint;
  /** Whether the last check used the collector's read (true) or read the map itself (false); for tests and benches. */
  get lastFromCollector(): boolean {
    return this.lastSum === "collector";
  }
  /** Whether the collector read the whole map since the last check: a check now costs nothing more. */
  get hasCollectorRead(): boolean {
    return this.read !== undefined;
  }
  /** Where the last check's sum came from (for tests and benches). */
  lastSum: SumSource = "batch";
  /** The flows the last read found: whether the next own read may be the kernel's walk (the first, at start, is a batch read: a reused map may hold a million). */
  private lastFlows = Infinity;
  /**
   * The flows in the map as last known: the collector's read since the last check, else the last check's (or the
   * start's) own read; undefined before any. For the agent's stop (src/cli/jit.ts): the final collection's size.
   */
  get knownFlows(): number | undefined {
    const f = this.read?.flows ?? this.lastFlows;
    return Number.isFinite(f) ? f : undefined;
  }
  /** The kernel walk, until one fails. */
  private walk?: KernelWalk;

  private constructor(private readonly s: ConservationSources) {
    this.walk = s.kernelSum;
  }

  /** Takes the base and starts counting what the collector removes (its reader's take() is wrapped in place). */
  static start(s: ConservationSources): Conservation {
    const c = new Conservation(s);
    const take = s.reader.take.bind(s.reader);
    s.reader.take = (rawKey: Uint8Array): Flow | null => {
      const f = take(rawKey);
      if (f) c.removed += BigInt(f.counts.packets);
      return f;
    };
    const m = c.measure();
    c.lastFlows = m.flows;
    c.rebase(m);
    return c;
  }

  /** For the collector (Collector.mapRead): its whole read of the map, bracketed by the kernel's counters. */
  readonly readHook: MapReadHook = {
    begin: () => { this.readBefore = flowed(this.s.counters()); },
    end: (packets, flows) => {
      if (this.readBefore === undefined) return;
      // what the collector had removed up to this read: the idle flows it takes after are not in this sum
      this.read = { before: this.readBefore, after: flowed(this.s.counters()), inMap: BigInt(packets), flows, removed: this.removed, by: "collector" };
      this.readBefore = undefined;
    },
  };

  /** Must run between two collector cycles (the agent's tick does): the collector removes nothing meanwhile. */
  check(): TamperFinding | null {
    const m = this.read ?? this.measure();
    this.lastSum = m.by;
    this.lastFlows = m.flows;
    this.read = undefined;
    const accounted = m.inMap + m.removed;
    const facts = { flows: m.flows, in_flow_map: String(m.inMap), map_read_by: this.lastSum, removed_by_collector: String(m.removed), kernel_flowed_packets: `${m.before}..${m.after}` };
    let finding: TamperFinding | null = null;
    if (accounted + this.high < m.before) {
      finding = { tamper: "counts_missing", subject: "flow_map", expected: { packets_at_least: String(m.before - this.high) }, found: { packets: String(accounted), missing_at_least: String(m.before - this.high - accounted), ...facts }, action: "re-based: later checks count from here" };
    } else if (accounted + this.low > m.after) {
      finding = { tamper: "counts_added", subject: "flow_map", expected: { packets_at_most: String(m.after - this.low) }, found: { packets: String(accounted), added_at_least: String(accounted + this.low - m.after), ...facts }, action: "re-based: later checks count from here" };
    }
    if (finding) this.rebase(m);
    return finding;
  }

  private measure(): Measure {
    const before = flowed(this.s.counters());
    if (this.walk && this.lastFlows <= (this.s.kernelWalkMaxFlows ?? KERNEL_WALK_MAX_FLOWS) && this.lastFlows >= (this.s.kernelWalkMinFlows ?? this.walk.buckets / KERNEL_WALK_BUCKETS_PER_FLOW)) {
      try {
        const k = this.walk.sum();
        return { before, after: flowed(this.s.counters()), inMap: k.packets, flows: k.flows, removed: this.removed, by: "kernel" };
      } catch (e) {
        // The program run refused (ENOMEM copying the ctx, a kernel that changed under us): batch lookups from now on.
        if (!(e instanceof AtoError)) throw e;
        this.walk = undefined;
        this.s.onWalkFailed?.(e);
      }
    }
    let inMap = 0; // a Number: exact below 2^53 packets
    let flows = 0;
    for (const b of this.s.reader.batches()) {
      for (let i = 0; i < b.n; i++) inMap += b.packets(i);
      flows += b.n;
    }
    const after = flowed(this.s.counters());
    return { before, after, inMap: BigInt(inMap), flows, removed: this.removed, by: "batch" };
  }

  /** The packets accounted nowhere we can see (removed before this start, or by a tampering already reported). */
  private rebase(m: Measure): void {
    this.low = m.before - (m.inMap + m.removed);
    this.high = m.after - (m.inMap + m.removed);
  }
}
