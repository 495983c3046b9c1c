/**
 * What must hold, besides age, before a segment may go: every configured forwarding sink has
 * acknowledged past it (its durable cursor, saved only after the sink's acknowledgement, is
 * beyond the segment's last line), and a witness has cosigned a checkpoint whose tree covers the
 * segment's last line. Cosignatures are read from the log itself (the agent writes only those
 * that verified), and checked again here against the configured witnesses' keys.
 */
import { AtoError } from "../errors.ts";
import { checkpointBody, parseSignedNote, type CosignatureData } from "../evidence/index.ts";
import { cursorPath, loadCursor } from "../forward/cursor.ts";
import { hashFromBase64 } from "../tree/index.ts";
import { matchesKey, verifyCosignature, type VerifierKey } from "../witness/index.ts";

export interface SinkRef {
  name: string;
  stateDir: string;
}

export interface SinkAck {
  name: string;
  /** The next seq the sink has not acknowledged (undefined: no cursor yet, or one of another log). */
  seq: number | undefined;
  segment: number | undefined;
  problem?: string;
}

export function sinkAcks(sinks: readonly SinkRef[], logId: string): SinkAck[] {
  return sinks.map((s) => {
    const c = loadCursor(cursorPath(s.stateDir, s.name));
    if (!c) return { name: s.name, seq: undefined, segment: undefined, problem: "has no cursor yet (nothing acknowledged)" };
    if (c.log_id !== logId) return { name: s.name, seq: undefined, segment: undefined, problem: `has a cursor of another log (${c.log_id})` };
    return { name: s.name, seq: c.seq, segment: c.segment };
  });
}

export interface Cosigned {
  witness: string;
  key_id: string;
  tree_size: number;
  checkpoint_seq: number;
  cosignature_seq: number;
}

/** The cosignature with the largest tree size, among those of `keys` that verify. */
export function bestCosignature(lines: readonly { seq: number; data: CosignatureData }[], keys: readonly VerifierKey[], origin: string): Cosigned | undefined {
  let best: Cosigned | undefined;
  for (const { seq, data: c } of lines) {
    if (c.origin !== origin || (best && c.tree_size <= best.tree_size)) continue;
    if (!keys.some((k) => verifies(k, c))) continue;
    best = { witness: c.witness, key_id: c.key_id, tree_size: c.tree_size, checkpoint_seq: c.checkpoint_seq, cosignature_seq: seq };
  }
  return best;
}

function verifies(key: VerifierKey, c: CosignatureData): boolean {
  try {
    const body = checkpointBody({ origin: c.origin, size: c.tree_size, root: hashFromBase64(c.root) });
    const sig = parseSignedNote(`${body}\n${c.signature}\n`).signatures[0]!;
    return matchesKey(key, sig) && verifyCosignature(key, body, sig).ok;
  } catch (e) {
    if (e instanceof AtoError && e.code === "CORRUPT") return false; // not a cosignature line of this shape: allows nothing
    throw e;
  }
}
