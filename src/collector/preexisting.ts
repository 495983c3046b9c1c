/**
 * The collector's start on a reused map: the take-in of a batch of flows a previous run left there, through
 * asm/flow_new.asm's ato_new_batch (the new-flow take-in of a cycle, scan.ts's takeNewNative), one call per
 * batch. The routine writes each row as a new flow's (nothing recorded, exportedAt = first_seen); a preexisting
 * flow's is "recorded as read at the start" (Baseline.preexisting, the TypeScript path and this one's oracle:
 * test/collector/start-native.test.ts), so the caller sets those four fields after the call (Baseline.preexistingBatch).
 *
 * Why: start() runs once per process, through code the JIT has not compiled: at 1 M flows the TypeScript
 * upsert per flow took ~0.47 s of a ~2.6 s start, this ~0.17 s; the rest is the map read and the table's growth
 * (scripts/bench-agent/start.ts, docs/runtime.md).
 */
import { NEW_SCALARS, type NewArrays, type NewFlowLibrary } from "../../ffi/scan.ts";
import type { FlowBatch } from "../kernel/index.ts";
import { newFlowsOn, SLOW } from "./scan.ts";
import type { FlowTable } from "./table.ts";

export class PreexistingIntake {
  /** After `take`: the batch indexes of the flows it did not take in (in batch order), `slow` of them. */
  index = new Int32Array(0);
  slow = 0;
  private kind = new Uint8Array(0);
  private slot = new Int32Array(0);
  /** The routine's per-protocol sums and bounds: a cycle's, not the start's (it states its own sums). */
  private readonly byProto = new Float64Array(512);
  private readonly sc = new Float64Array(NEW_SCALARS);
  private arrays: NewArrays | undefined;

  /**
   * Inserts batch b's flows absent from `t` (generation `gen`), each slot at order[pos0 + i]; a flow the table
   * holds already gets its slot there too, and is listed in index[0..slow). The table grows between calls when
   * full (hints[0..pos0 + b.n) moved with their flows: the caller tracks the table's moves, Baseline.holdHints).
   */
  take(lib: NewFlowLibrary, b: FlowBatch, order: Int32Array, pos0: number, t: FlowTable, gen: number): void {
    const n = b.n;
    if (this.index.length < n) {
      this.index = new Int32Array(n);
      this.kind = new Uint8Array(n);
      this.slot = new Int32Array(n);
    }
    // Every flow of the batch handed to the routine as a SLOW hand-back: the routine's "not in the table yet" case.
    for (let i = 0; i < n; i++) this.index[i] = i;
    this.kind.fill(SLOW, 0, n);
    const a = (this.arrays ??= { keyWords: b.keyWords, valueWords: b.valueWords, order, tableKeys: t.keys, tableState: t.state, row: t.row, byProto: this.byProto, index: this.index, kind: this.kind, slot: this.slot });
    a.keyWords = b.keyWords; a.valueWords = b.valueWords; a.order = order; a.index = this.index; a.kind = this.kind; a.slot = this.slot;
    const sc = this.sc;
    // Nothing is idle (idleBefore -inf) or due (an infinite active timeout, not final): every flow is inserted.
    sc[0] = -Infinity; sc[1] = 0; sc[2] = 0; sc[3] = Infinity; sc[4] = 0;
    sc[5] = b.cpus; sc[6] = b.valueBytes >> 2; sc[8] = gen; sc[9] = Infinity; sc[10] = Infinity; sc[11] = 0;
    sc[15] = 0; sc[16] = 0; sc[17] = 0; sc[18] = pos0; sc[19] = n;
    while (newFlowsOn(lib, a, sc, n, t) !== 0) {
      // Full at flow sc[15] (not taken in yet): grown once for the rest; every hint so far follows its flow
      // (the positions not reached yet hold -1, which stays -1).
      const epoch = t.epoch;
      t.reserve(sc[17]!);
      if (t.epoch !== epoch) t.remap(order, pos0 + n);
    }
    this.slow = sc[16]!;
  }
}
