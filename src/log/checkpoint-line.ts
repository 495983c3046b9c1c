/**
 * The body of a checkpoint line: the signed note (C2SP signed-note form) when the signature
 * worked, the bare checkpoint text and the reason when it did not, with what a verifier needs
 * to resume from this point (frontier, segment, previous segment); and that body as canonical
 * JSON text, written member by member in RFC 8785 order (checkpointDataText: a checkpoint per
 * 1,000 records goes through it, and canonicalize(), its oracle in the tests, sorts and walks
 * the object generically at several times the cost).
 */
import { AtoError } from "../errors.ts";
import { canonicalize, checkpointBody, formatSignedNote, type CheckpointData, type CheckpointTrigger, type PrevSegment } from "../evidence/index.ts";
import { EMPTY_ROOT, base64, type Hash } from "../tree/index.ts";
import type { SignOutcome } from "./signing.ts";

export interface CheckpointParts {
  /** The checkpoint text that was signed. */
  text: string;
  signed: SignOutcome;
  origin: string;
  /** The tree's frontier, base64, largest subtree first (CompactFrontier.hashesBase64). */
  frontier: string[];
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
    frontier: p.frontier,
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

/**
 * canonicalize(d), written for this one shape: members in RFC 8785 order, strings as canonicalize
 * writes them. A string it cannot write (a lone surrogate) goes to canonicalize, which throws its
 * own error for it (AtoError CORRUPT naming the member).
 */
export function checkpointDataText(d: CheckpointData): string {
  try {
    return `{"algorithm":${d.algorithm === null ? "null" : str(d.algorithm)},"frontier":${d.frontier.length ? `["${d.frontier.join('","')}"]` : "[]"},"key_id":${d.key_id === null ? "null" : str(d.key_id)},"key_name":${d.key_name === null ? "null" : str(d.key_name)},"note":${str(d.note)},"origin":${str(d.origin)},"prev_segment":${d.prev_segment === null ? "null" : canonicalize(d.prev_segment)},"root":${str(d.root)},"segment":${num(d.segment)},"signature":${str(d.signature)},${d.signature_error === undefined ? "" : `"signature_error":${str(d.signature_error)},`}"signature_status":${str(d.signature_status)},"tree_size":${num(d.tree_size)},"trigger":${str(d.trigger)}}`;
  } catch (e) {
    if (e === UNWRITTEN) return canonicalize(d);
    throw e;
  }
}

/** Printable ASCII without `"` or `\`: canonicalize writes it as it is (canonical.ts's PLAIN). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const UNWRITTEN = new Error("left to canonicalize");

function str(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  if (typeof s !== "string" || !s.isWellFormed()) throw UNWRITTEN;
  return JSON.stringify(s);
}

function num(n: number): string {
  if (!Number.isSafeInteger(n)) throw UNWRITTEN;
  return String(n);
}

/** Origin and key name must fit the signed note (one line; the key name without spaces or '+'). */
export function checkNames(origin: string, keyName: string): void {
  try {
    formatSignedNote(checkpointBody({ origin, size: 0, root: EMPTY_ROOT }), [{ keyName, keyId: new Uint8Array(4), signature: new Uint8Array(0) }]);
  } catch (e) {
    throw new AtoError(`evidence log origin '${origin}' or key name '${keyName}' cannot be used in a signed note: ${(e as Error).message}`, "CONFIG", { cause: e });
  }
}
