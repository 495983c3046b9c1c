/**
 * The body of a checkpoint line: the signed note (C2SP signed-note form) when the signature
 * worked, the bare checkpoint text and the reason when it did not, with what a verifier needs
 * to resume from this point (frontier, segment, previous segment).
 */
import { AtoError } from "../errors.ts";
import { checkpointBody, formatSignedNote, type CheckpointData, type CheckpointTrigger, type PrevSegment } from "../evidence/index.ts";
import { EMPTY_ROOT, base64, type Hash } from "../tree/index.ts";
import type { SignOutcome } from "./signing.ts";

export interface CheckpointParts {
  /** The checkpoint text that was signed. */
  text: string;
  signed: SignOutcome;
  origin: string;
  frontier: Hash[];
  root: Hash;
  segment: number;
  prev: PrevSegment | null;
  treeSize: number;
  trigger: CheckpointTrigger;
}

export function checkpointData(p: CheckpointParts): CheckpointData {
  const { signed } = p;
  const id = signed.identity;
  return {
    algorithm: id?.algorithm ?? null,
    frontier: p.frontier.map(base64),
    key_id: id?.keyIdHex ?? null,
    key_name: id?.keyName ?? null,
    note: signed.ok ? formatSignedNote(p.text, [{ keyName: signed.identity.keyName, keyId: signed.identity.keyId, signature: signed.signature }]) : p.text,
    origin: p.origin,
    prev_segment: p.prev,
    root: base64(p.root),
    segment: p.segment,
    signature: signed.ok ? base64(signed.signature) : "",
    signature_error: signed.ok ? undefined : signed.reason,
    signature_status: signed.ok ? "ok" : "failed",
    tree_size: p.treeSize,
    trigger: p.trigger,
  };
}

/** Origin and key name must fit the signed note (one line; the key name without spaces or '+'). */
export function checkNames(origin: string, keyName: string): void {
  try {
    formatSignedNote(checkpointBody({ origin, size: 0, root: EMPTY_ROOT }), [{ keyName, keyId: new Uint8Array(4), signature: new Uint8Array(0) }]);
  } catch (e) {
    throw new AtoError(`evidence log origin '${origin}' or key name '${keyName}' cannot be used in a signed note: ${(e as Error).message}`, "CONFIG", { cause: e });
  }
}
