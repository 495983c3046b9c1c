/**
 * C2SP signed notes (c2sp.org/signed-note) carrying a C2SP tlog-checkpoint body
 * (c2sp.org/tlog-checkpoint):
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n     ← the note text: the bytes that are signed
 *   \n
 *   — <key name> <base64(4-byte key ID || signature)>\n
 *
 * Pure text functions; the key ID and the signature itself are elsewhere.
 */
import { AtoError } from "../errors.ts";
import { base64, hashFromBase64, type Hash } from "../tree/index.ts";

export interface CheckpointBody {
  origin: string;
  size: number;
  root: Hash;
}

export interface NoteSignature {
  keyName: string;
  keyId: Uint8Array; // 4 bytes, big-endian uint32
  signature: Uint8Array;
}

/** The signature line's leading em dash and space (U+2014 U+0020). */
const SIGNATURE_LINE_PREFIX = "\u2014 ";

export function checkpointBody(c: CheckpointBody): string {
  checkName("origin", c.origin);
  return `${c.origin}\n${c.size}\n${base64(c.root)}\n`;
}

export function parseCheckpointBody(text: string): CheckpointBody {
  const lines = text.split("\n");
  // Lines: origin, size, root, optional extension lines, then the empty string after the last \n.
  if (lines.length < 4 || lines[lines.length - 1] !== "") throw new AtoError("checkpoint text must be at least three lines, each ending in a newline", "CORRUPT");
  const [origin, size, root] = lines as [string, string, string];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) throw new AtoError(`checkpoint tree size '${size.slice(0, 30)}' is not a decimal number`, "CORRUPT");
  checkName("origin", origin);
  return { origin, size: Number(size), root: hashFromBase64(root, "checkpoint root hash") };
}

export function formatSignedNote(text: string, signatures: NoteSignature[]): string {
  const lines = signatures.map((s) => {
    checkName("key name", s.keyName);
    return `${SIGNATURE_LINE_PREFIX}${s.keyName} ${Buffer.concat([s.keyId, s.signature]).toString("base64")}\n`;
  });
  return `${text}\n${lines.join("")}`;
}

/** Splits a signed note at its last blank line into the signed text and its signature lines. */
export function parseSignedNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (note.length > 1 << 16) throw new AtoError("signed note is longer than 64 KiB", "CORRUPT");
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new AtoError("signed note contains control characters", "CORRUPT");
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new AtoError("signed note has no blank line before its signatures", "CORRUPT");
  const text = note.slice(0, split + 1);
  const signatures = note.slice(split + 2, -1).split("\n").map(parseSignatureLine);
  return { text, signatures };
}

function parseSignatureLine(line: string): NoteSignature {
  const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
  if (!m) throw new AtoError(`signature line '${line.slice(0, 80)}' is not '— <key name> <base64>'`, "CORRUPT");
  const raw = new Uint8Array(Buffer.from(m[2]!, "base64"));
  if (raw.length < 5 || Buffer.from(raw).toString("base64") !== m[2]) throw new AtoError(`signature of key '${m[1]}' is not valid base64 of a key ID and a signature`, "CORRUPT");
  return { keyName: m[1]!, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
}

function checkName(what: string, name: string): void {
  // signed-note: key names are non-empty, without spaces or '+'; an origin is one line.
  const ok = what === "origin" ? /^[^\s][^\n]*$/.test(name) && !/\s$/.test(name) : /^[^\s+]+$/.test(name);
  if (!ok) throw new AtoError(`${what} '${name.slice(0, 80)}' is not valid in a signed note`, "CORRUPT");
}
