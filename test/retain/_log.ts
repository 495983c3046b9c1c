/**
 * A real log for retention tests: the real writer signing with a SoftHSM key, small segments
 * (many rotations fast), records of chosen classes at a pinned clock, and a witness key that
 * cosigns the log's real checkpoints as `ato witness serve` does, written back as the submitter
 * writes them.
 */
import { join } from "node:path";
import type { EvidenceLog } from "../../src/log/index.ts";
import { cosign, cosignatureLine, initWitness, type WitnessKey } from "../../src/witness/index.ts";
import { openLog, type Hsm } from "../log/_helpers.ts";

export const T0 = Date.parse("2026-01-01T00:00:00.000Z");
export const DAY = 86_400_000;

export interface TestLog {
  log: EvidenceLog;
  clock: { now: number };
}

/** 20 lines per segment, a checkpoint every 5 lines. */
export function smallLog(dir: string, h: Hsm, clock = { now: T0 }): TestLog {
  const log = openLog(dir, h, { rotateLines: 20, checkpointEvery: 5, now: () => new Date(clock.now) });
  return { log, clock };
}

/** Appends `n` flow records of `cls`. */
export function records(t: TestLog, n: number, cls = "internal"): void {
  for (let i = 0; i < n; i++) t.log.appendRecord("flow", { packets: i + 1, bytes: 60 * (i + 1), flow_id: i }, { class: cls });
}

export function witnessKey(stateDir: string): WitnessKey {
  return initWitness(join(stateDir, "witness"), "witness.test/retain");
}

/** Signs a checkpoint now and has `key` cosign it; the cosignature line goes into the log as the submitter writes it. */
export async function cosignNow(t: TestLog, key: WitnessKey): Promise<number> {
  const cp = t.log.checkpoint("manual");
  const body = cp.note.slice(0, cp.note.indexOf("\n\n") + 1);
  const sig = await cosign(key, body, Math.floor(t.clock.now / 1000));
  const origin = t.log.status().origin;
  t.log.appendRecord("cosignature", {
    checkpoint_seq: cp.seq, origin, tree_size: cp.treeSize, root: cp.root, witness: key.name,
    key_id: Buffer.from(key.keyId).toString("hex"), timestamp: Math.floor(t.clock.now / 1000), signature: cosignatureLine(sig).trimEnd(), url: "http://127.0.0.1:1",
  });
  return cp.treeSize;
}
