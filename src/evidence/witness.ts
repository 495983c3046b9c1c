/**
 * The `data` of the lines the agent writes about witnesses (c2sp.org/tlog-witness):
 *
 *   "cosignature"       a witness cosigned the checkpoint at `checkpoint_seq`; `signature` is the
 *                       note signature line exactly as the witness returned it (without its
 *                       newline), so appending it to that checkpoint's note gives a note any
 *                       signed-note verifier checks.
 *   "witness_refusal"   a witness refused a checkpoint, or the agent refused what a witness
 *                       answered: evidence that someone saw another history (a fork) or that a
 *                       witness misbehaves.
 */
import { corrupt, isCount } from "./checkpoint.ts";

export interface CosignatureData {
  checkpoint_seq: number;
  origin: string;
  tree_size: number;
  /** base64 root of the checkpoint cosigned. */
  root: string;
  /** The witness's key name and key ID (hex), as in the signature line. */
  witness: string;
  key_id: string;
  /** POSIX seconds the witness put in the cosignature. */
  timestamp: number;
  /** `— <name> <base64(key ID ‖ timestamp ‖ signature)>`. */
  signature: string;
  url: string;
}

export interface WitnessRefusalData {
  checkpoint_seq: number;
  origin: string;
  tree_size: number;
  root: string;
  witness: string;
  url: string;
  /** The HTTP status the witness answered, or null when the agent refused the answer itself. */
  status: number | null;
  reason: string;
  message: string;
  /** The size the witness says it cosigned last (409), when it said one. */
  witness_size?: number;
}

export function parseCosignatureData(d: Record<string, unknown>): CosignatureData {
  for (const k of ["checkpoint_seq", "tree_size", "timestamp"]) if (!isCount(d[k])) throw corrupt(k, d[k]);
  for (const k of ["origin", "root", "witness", "key_id", "signature", "url"]) if (typeof d[k] !== "string") throw corrupt(k, d[k]);
  return d as unknown as CosignatureData;
}
