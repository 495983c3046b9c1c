/**
 * The collector: read the flow map (batch lookups) when something needs what it holds (a
 * timeout that can have come, every-interval mode, a detector, someone watching the metrics,
 * the final collection: see `cycle`) for the metrics, idle removal and the export policy
 * (policy.ts: a record at the idle timeout, the active timeout, shutdown, or every interval);
 * turn each due flow's growth since its last record into a flow record, mask a chunk of them
 * in one call, append it to the evidence log, and hand the chunk to `onExport`. Idle flows are removed without losing a count (lookup-and-delete returns the
 * final values atomically). Ring-buffer events become records of their own.
 *
 * The sum of `packets` (and `bytes`) over a flow's records equals what the kernel counted for
 * it. Counts already in a reused pinned map when the agent starts are not attributed to flow
 * records; the `agent` start record states them, so nothing is silently counted twice.
 *
 * Cost is linear in the flows in the map: a flow that did not change costs a key comparison at
 * the table slot it had at the same position of the last read (a hash lookup when that misses),
 * on the kernel's own buffer (no object, no string); due flows are copied as columns into a
 * chunk (chunk.ts) and written as text (chunk-line.ts) as the map is read, so memory stays
 * bounded by the chunk, not the map. A cycle with no timeout due is not read at all when the
 * kernel counted no frame since the last read, or when nothing needs every interval's reading
 * (`packetsSeen`, `watched`): with the default 60 s timeouts a busy host nobody scrapes reads
 * its map when a flow can be due, not every second.
 * A chunk never reaches past the log's next count checkpoint, so `--checkpoint-every` is
 * honoured to the line and every append is all or nothing: a flow's record baseline moves
 * exactly when its record is on disk.
 * A cycle yields to the event loop between batches and chunks: /metrics and /healthz answer
 * while a million flows are read.
 */
import { randomBytes } from "node:crypto";
import type { EvidenceLog } from "../log/index.ts";
import type { Masker, FlowAddresses } from "../mask/index.ts";
import { FLOW_KEY, flowNumbers, type AuditEvent, type FlowMapReader } from "../kernel/index.ts";
import { Baseline, ZERO, type Growth } from "./baseline.ts";
import { DueChunk } from "./chunk.ts";
import { ChunkWriter } from "./chunk-line.ts";
import { KernelClock } from "./clock.ts";
import { exported, type ExportHook, type MapReadHook, type ReadHook } from "./export.ts";
import { dueReason, type ExportPolicy } from "./policy.ts";
import { IsoTimes, StringCache } from "./flow-line.ts";
import { eventRecord } from "./records.ts";
import { KEY_WORDS } from "./table.ts";
import { BatchScan, DUE } from "./scan.ts";

/** Flows masked, formatted and appended per write at most: a write holds the event loop for ~1 ms at most. */
const CHUNK = 256;
/** The read loop looks at the clock every this many flows, and yields once it has held the loop for YIELD_MS. */
const CHECK_EVERY = 256;
const YIELD_MS = 1;
/**
 * The scan goes on adding due flows to the chunk after this many stops behind a slow flow in one batch at most
 * (scan.ts); after that it hands back the rest of the batch, so a batch where new and grown flows alternate costs
 * a few calls more, not one per new flow.
 */
const RESUMES = 16;

export interface CollectorOptions {
  reader: FlowMapReader;
  masker: Masker;
  log: EvidenceLog;
  /** Flows whose last packet is older than this are removed from the map, with their final record. */
  idleTimeoutNs: bigint;
  /** A record for a flow active this long since its start or last record; 0n: a record every interval. */
  activeTimeoutNs: bigint;
  ifaceName: (ifindex: number) => string;
  /** Every exported flow, a chunk at a time, once its record is on disk (see export.ts). */
  onExport?: ExportHook;
  /** Every changed flow as the map is read (see export.ts); while it is set, every cycle in which a frame came reads the map. */
  onRead?: ReadHook;
  /**
   * The kernel's count of every frame its program saw (counters.packets). With it, a cycle
   * reads the map only when something needs what it holds (see `cycle`): a quiet host, or a
   * busy one nobody watches between two timeouts, costs a counter read a second, not a read of
   * every flow. Without it, every cycle reads the map.
   */
  packetsSeen?: () => bigint;
  /**
   * Whether someone looks at what the reads feed (the agent: a /metrics scrape within its
   * window, src/agent/watch.ts): while true, every cycle in which a frame came reads the map,
   * so the traffic metrics and the flow count move every interval.
   */
  watched?: () => boolean;
  /** What an onExport hook threw (its own bug, never the evidence's). */
  onHookError?: (e: unknown) => void;
}

export interface CycleSummary {
  /** Flows in the map when it was read. */
  flows: number;
  records: number;
  /** Records by reason (policy.ts). */
  reasons: Partial<Record<string, number>>;
  removed: number;
  /** Whether this cycle read the map (false: nothing needed it, see Collector.cycle). */
  read: boolean;
  /** Growth per IP protocol read in this cycle (recorded or not yet), for the traffic metrics. */
  byProto: Map<number, { packets: number; bytes: number }>;
  seconds: number;
}

export class Collector {
  private readonly baseline = new Baseline();
  private readonly clock = new KernelClock();
  private readonly times = new IsoTimes(this.clock);
  private readonly strings = new StringCache();
  /** The due flows of the chunk being filled, as columns; written whole (see chunkLimit). */
  private readonly chunk = new DueChunk(CHUNK);
  private readonly writer: ChunkWriter;
  /** Flows removed from the map whose final records are not written yet. */
  private ended: Growth[] = [];
  private readonly policy: ExportPolicy;
  /** The kernel's clock at the start of the cycle under way, as a Number. */
  private nowNs = 0;
  /** Interface names by ifindex, looked up once per cycle (if_indextoname is a syscall per call). */
  private ifaces = new Map<number, string>();
  /** The table slot of the flow at each position of the last read of the map (tried first at the same position). */
  private order: Int32Array = new Int32Array(1024).fill(-1);
  /** The read loop's fast path and its sums (scan.ts), reused every cycle. */
  private readonly scan = new BatchScan({ idleBefore: 0, idleNs: 0, nowNs: 0, activeNs: 0, final: false, hooked: false });
  /**
   * What the last full read left: the kernel's packet count then; the earliest time a flow can be due if no
   * frame comes (quietDueNs) and if frames come (dueNs: also flows with no growth waiting then, which can grow
   * and be due at their active timeout); the flows read.
   */
  private lastRead?: { packets: bigint; quietDueNs: number; dueNs: number; flows: number };

  /**
   * The flows in the map at the last whole read (kept through cycles that needed no read); undefined before one
   * and after a failed cycle. The stop's JIT policy uses it when the conservation check is off (src/cli/jit.ts).
   */
  get flowsRead(): number | undefined {
    return this.lastRead?.flows;
  }

  /** Told each whole read of the map, with its packet sum (set after the collector is made: the self-attestation starts later). */
  mapRead?: MapReadHook;

  constructor(private readonly o: CollectorOptions) {
    this.policy = { activeTimeoutNs: Number(o.activeTimeoutNs) };
    this.writer = new ChunkWriter(o.masker, CHUNK, this.times, this.strings);
  }

  /** Takes what a previous run left in a reused map as already accounted, and says so in the log. */
  start(extra: Record<string, unknown> = {}): { flows: number; packets: number; bytes: number } {
    let flows = 0;
    const now = Number(this.clock.sync());
    this.baseline.beginCollection();
    const sums = new Float64Array(2); // packets, bytes
    // Each flow's slot is its hint at the same position of the first cycle's read (a map that did not change is
    // read in the same order): there it takes the scan's fast path, not a lookup and the general path. The
    // table grows as they come in, a batch at a time: the hints taken before a growth are moved with their flows.
    const base = this.baseline;
    base.holdHints(true);
    try {
      for (const b of this.o.reader.batches()) {
        if (this.order.length < flows + b.n) this.order = grown(this.order, flows + b.n);
        base.preexistingBatch(b, this.order, flows, now, sums);
        flows += b.n;
      }
    } finally {
      base.holdHints(false);
    }
    const packets = sums[0]!, bytes = sums[1]!;
    this.o.log.appendRecord("agent", { event: "start", ...extra, preexisting_flows: flows, preexisting_packets: packets, preexisting_bytes: bytes });
    return { flows, packets, bytes };
  }

  /**
   * One collection; `final` (the agent's last, after the detach) records every flow's
   * unrecorded growth, reason "shutdown". A flow's record baseline moves only after its record
   * is written: when the log cannot be written (full disk), the error propagates and the
   * growth stays unrecorded for the next cycle; flows already taken out of the map wait in
   * `ended` until they are written. Wall times of the whole cycle come from one clock offset
   * (KernelClock.sync).
   *
   * The map is read only when something needs what it holds: the first cycle (a pinned map
   * from a previous run included) and the one after a failed cycle; the final one; one with
   * `ended` records to write; one at or after the earliest time a flow's idle or active
   * timeout can have come (`lastRead`, a bound on every flow: see the read loop);
   * and, when a frame came since the last read, every cycle of every-interval mode (active
   * timeout 0), while an onRead hook listens (the detectors judge every interval) or while
   * `watched` says someone looks. The bound covers every flow: a flow with no growth waiting
   * at the read can grow afterwards, and is then due at its exportedAt + active (only once a
   * frame came); a flow not yet in the map has its first packet after the read's nowNs, so it
   * is due no earlier than nowNs + min(idle, active). Otherwise no flow can be due, and the cycle returns at once:
   * its records come at the same cycles as with a read every interval, to the interval.
   */
  async cycle(opts: { final?: boolean } = {}): Promise<CycleSummary> {
    const t0 = performance.now();
    const final = opts.final ?? false;
    const summary: CycleSummary = { flows: 0, records: 0, reasons: {}, removed: 0, read: false, byProto: new Map(), seconds: 0 };
    this.nowNs = Number(this.clock.sync());
    const idleNs = Number(this.o.idleTimeoutNs), activeNs = this.policy.activeTimeoutNs;
    const idleBefore = this.nowNs - idleNs;
    const packetsSeen = this.o.packetsSeen?.();
    const last = this.lastRead;
    this.lastRead = undefined; // set again only by a read that completes
    const quiet = packetsSeen === last?.packets;
    if (!final && last && this.ended.length === 0 && this.nowNs < (quiet ? last.quietDueNs : last.dueNs) && (quiet || !this.readsEveryFrame())) {
      summary.flows = last.flows;
      this.lastRead = last;
      summary.seconds = (performance.now() - t0) / 1000;
      return summary;
    }
    this.baseline.beginCollection();
    this.ifaces.clear();

    // Flows a failed cycle took out of the map come first; a chunk a failed write left is read again below.
    this.chunk.n = 0;
    await this.flushEnded(summary);

    const closeOld = (g: Growth) => this.ended.push(g);
    const counts = flowNumbers(ZERO); // reused for every flow read
    const idle: Uint8Array[] = [];
    const chunk = this.chunk;
    let limit = this.chunkLimit();
    let held = performance.now();
    let nextDueNs = Infinity, growDueNs = Infinity;
    const mapRead = this.mapRead;
    mapRead?.begin();
    const scan = this.scan;
    scan.reset({ idleBefore, idleNs, nowNs: this.nowNs, activeNs, final, hooked: this.o.onRead !== undefined });
    // What dueReason (policy.ts) says of every flow the scan hands back DUE: it has pending growth, and its active timeout came.
    const dueNow = dueReason(this.policy, 1, -Infinity, this.nowNs, final)!;
    const into = { chunk, limit, reason: dueNow };
    for (const b of this.o.reader.batches()) {
      if (this.order.length < summary.flows + b.n) this.order = grown(this.order, summary.flows + b.n);
      const pos0 = summary.flows;
      summary.flows += b.n;
      // The flows that only need counting, and the new ones, are taken in by the scan (scan.ts), and the due ones
      // added to the chunk while nothing came back; the rest come back here, in batch order. The scan stops when
      // the chunk is full and after a due flow that came back (scan.ts): then it goes on from where it stopped.
      for (let from = 0, resumes = 0; from < b.n;) {
        into.limit = limit;
        from = this.baseline.scan(scan, b, this.order, pos0, from, resumes < RESUMES ? into : undefined);
        if (scan.n > 0 && scan.kind[scan.n - 1] === DUE) resumes++;
        if (chunk.n >= limit) {
          await this.flushChunk(summary);
          limit = this.chunkLimit();
          held = performance.now();
        }
        const epoch = this.baseline.epoch; // the DUE slots hold at the table's epoch after the scan (scan.ts's takeNew)
        for (let h = 0, check = 0; h < scan.n; h++) {
          const i = scan.index[h]!, position = pos0 + i;
          // The batch stays valid while the generator waits: /metrics answers within a millisecond or so.
          if (h >= check) {
            check = h + CHECK_EVERY;
            if (performance.now() - held > YIELD_MS) { await yieldToEventLoop(); held = performance.now(); }
          }
          if (scan.kind[h] === DUE) {
            if (epoch === this.baseline.epoch) {
              // No slot moved since the scan: the run of DUE flows from here (as far as the chunk has room) goes
              // into the chunk in one call, at the slots the scan gave (their order hints already).
              let end = h + 1;
              for (const stop = Math.min(scan.n, h + limit - chunk.n); end < stop && scan.kind[end] === DUE;) end++;
              this.baseline.dueRun(chunk, scan.slot, h, end, dueNow);
              h = end - 1;
            } else {
              const slot = this.baseline.slotOf(scan.slot[h]!, epoch, b.keyWords, i * KEY_WORDS);
              this.order[position] = slot;
              this.baseline.due(chunk, slot, dueNow);
            }
            if (chunk.n >= limit) {
              await this.flushChunk(summary);
              limit = this.chunkLimit();
              held = performance.now();
            }
            continue;
          }
          // SLOW: everything for this flow is done here.
          const lastSeen = b.lastSeenNs(i), packets = b.packets(i);
          if (lastSeen < idleBefore) { // taken after the read, with whatever arrived since
            idle.push(b.keys.slice(i * FLOW_KEY.size, (i + 1) * FLOW_KEY.size));
            continue;
          }
          const slot = this.baseline.seenAt(this.order[position]!, b.keyWords, i * KEY_WORDS);
          this.order[position] = slot;
          const inserted = this.baseline.inserted;
          if (inserted || !this.baseline.unchanged(slot, packets, lastSeen)) {
            const grown = this.baseline.observe(slot, inserted, b.countsInto(i, counts), closeOld);
            grow(summary, b.proto(i), grown);
            this.o.onRead?.(b, i, grown, inserted, counts);
          }
          // The earliest time this flow can need a record: without a frame, its idle timeout or (growth
          // waiting) its active one (nextDueNs); with no growth waiting, growth after this read is due at
          // exportedAt + active (growDueNs, a bound once a frame came: the map may not be read in between).
          // A flow recorded now is next due a whole period on.
          if (lastSeen + idleNs < nextDueNs) nextDueNs = lastSeen + idleNs;
          const pending = this.baseline.pending(slot), exportedAt = this.baseline.exportedAt(slot);
          const reason = dueReason(this.policy, pending, exportedAt, this.nowNs, final);
          if (!reason) {
            if (activeNs !== 0 && exportedAt + activeNs < (pending > 0 ? nextDueNs : growDueNs)) {
              if (pending > 0) nextDueNs = exportedAt + activeNs;
              else growDueNs = exportedAt + activeNs;
            }
            continue;
          }
          this.baseline.due(chunk, slot, reason); // copied as columns: no object per flow
          if (chunk.n >= limit) {
            await this.flushChunk(summary);
            limit = this.chunkLimit();
            held = performance.now();
          }
        }
      }
      if (performance.now() - held > YIELD_MS) { await yieldToEventLoop(); held = performance.now(); }
    }
    if (scan.nextDueNs < nextDueNs) nextDueNs = scan.nextDueNs;
    if (scan.growDueNs < growDueNs) growDueNs = scan.growDueNs;
    const packetsRead = scan.packetsRead;
    if (scan.grew) for (let proto = 0; proto < 256; proto++) grow(summary, proto, { packets: scan.byProto[proto * 2]!, bytes: scan.byProto[proto * 2 + 1]! });
    mapRead?.end(packetsRead, summary.flows); // before the idle flows are taken out below
    if (chunk.n > 0) await this.flushChunk(summary);

    for (let n = 0; n < idle.length; n++) {
      const rawKey = idle[n]!;
      if (n % CHECK_EVERY === 0 && performance.now() - held > YIELD_MS) { await yieldToEventLoop(); held = performance.now(); }
      // lookup-and-delete: packets counted between the read above and now are included.
      const last = this.o.reader.take(rawKey);
      const { record, grown } = this.baseline.final(rawKey, last, closeOld);
      if (last) grow(summary, last.key.proto, grown);
      if (record) this.ended.push(record);
      summary.removed++;
    }
    this.ended.push(...this.baseline.endCollection());
    await this.flushEnded(summary);
    // Due flows were written (their next timeouts are a full period away); a failed write threw before this.
    // A flow not in the map at this read has its first packet after nowNs: due no earlier than nowNs + min(idle, active).
    summary.read = true;
    if (packetsSeen !== undefined) {
      const quietDueNs = Math.min(nextDueNs, this.nowNs + Math.min(idleNs, activeNs || idleNs));
      this.lastRead = { packets: packetsSeen, quietDueNs, dueNs: Math.min(quietDueNs, growDueNs), flows: summary.flows - summary.removed };
    }
    summary.seconds = (performance.now() - t0) / 1000;
    return summary;
  }

  /** The next cycle reads the map whatever the bounds say (the agent: after a tamper finding). */
  readNext(): void {
    this.lastRead = undefined;
  }

  /** Whether a cycle in which a frame came reads the map even with no timeout due: see `cycle`. */
  private readsEveryFrame(): boolean {
    return this.policy.activeTimeoutNs === 0 || this.o.onRead !== undefined || this.o.watched?.() === true;
  }

  /** A ring-buffer event as an evidence record of its own kind. */
  event(e: AuditEvent): void {
    const rid = this.o.masker.seals ? [randomBytes(9).toString("base64url")] : undefined;
    const masked = e.kind === "overflow" ? undefined : this.o.masker.maskFlows([{ ...e.key }], rid)[0];
    this.o.log.appendRecord(e.kind, eventRecord(e, masked, this.o.ifaceName(e.key.ifindex), this.clock));
  }

  /** Records per write: a chunk, or fewer when the log's next count checkpoint comes first. */
  private chunkLimit(): number {
    return Math.min(CHUNK, this.o.log.roomBeforeCheckpoint());
  }

  /** Writes the chunk being filled; it is empty after, also when the write failed (its flows stay unrecorded, so due again). */
  private async flushChunk(summary: CycleSummary): Promise<void> {
    try {
      this.write(summary);
    } finally {
      this.chunk.n = 0;
    }
    await yieldToEventLoop();
  }

  /**
   * Writes the records of entries gone from the map, a chunk at a time, taking each chunk off
   * `ended` once written: a failed write throws with `ended` still holding what was not written.
   */
  private async flushEnded(summary: CycleSummary): Promise<void> {
    while (this.ended.length > 0) {
      const n = Math.min(this.chunkLimit(), this.ended.length, CHUNK);
      this.chunk.n = 0;
      for (let i = 0; i < n; i++) this.chunk.addGrowth(this.ended[i]!);
      await this.flushChunk(summary);
      this.ended.splice(0, n);
    }
  }

  /**
   * Masks and appends the chunk, then moves the baselines of its live flows. Each append stays
   * within the room before the log's next checkpoint (all or nothing); the room can shrink while
   * a chunk fills (the witness's and the detectors' records), so the chunk is written in as many
   * appends as it needs, each flow's baseline moving once its own append is on disk.
   */
  private write(summary: CycleSummary): void {
    const c = this.chunk;
    const rids = this.o.masker.seals ? Array.from({ length: c.n }, () => randomBytes(9).toString("base64url")) : undefined;
    this.writer.mask(c, rids);
    for (let at = 0; at < c.n; ) {
      const n = Math.min(c.n - at, this.chunkLimit());
      // The records flowRecord (records.ts) describes, written as text (chunk-line.ts).
      const first = this.o.log.appendTexts("flow", n, (i) => this.writer.text(c, at + i, this.iface(c.ifindex(at + i)), rids?.[at + i]), { lines: this.writer.lines(c, at, this.ifaceOf) });
      summary.records += n;
      this.baseline.recordedRange(c, at, at + n, this.nowNs);
      c.countReasons(at, at + n, summary.reasons);
      if (this.o.onExport) this.announce(exported(c, at, n, first.seq, (i) => this.iface(i), this.clock));
      at += n;
    }
  }

  /** Hands a written chunk to the export hook; what the hook throws is its own bug, reported, never the evidence's. */
  private announce(flows: ReturnType<typeof exported>): void {
    try {
      this.o.onExport!(flows);
    } catch (e) {
      if (!this.o.onHookError) throw e;
      this.o.onHookError(e);
    }
  }

  private readonly ifaceOf = (ifindex: number) => this.iface(ifindex);

  private iface(ifindex: number): string {
    let name = this.ifaces.get(ifindex);
    if (name === undefined) this.ifaces.set(ifindex, (name = this.o.ifaceName(ifindex)));
    return name;
  }
}

function grow(summary: CycleSummary, proto: number, g: { packets: number; bytes: number }): void {
  if (g.packets === 0 && g.bytes === 0) return;
  const p = summary.byProto.get(proto) ?? { packets: 0, bytes: 0 };
  p.packets += g.packets;
  p.bytes += g.bytes;
  summary.byProto.set(proto, p);
}

function grown(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(Math.max(n, a.length * 2)).fill(-1);
  b.set(a);
  return b;
}

/** Lets timers and sockets (the metrics server, signals) run between steps of a long cycle. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
