/**
 * --trusted-checkpoint FILE: a checkpoint saved away from the host (the agent serves its
 * latest at /checkpoint). It must be signed by a given key; then the log must reach its
 * tree size and have its root there. A log cut after a checkpoint still verifies on its
 * own, and only a checkpoint kept elsewhere shows that it used to be longer.
 *
 * The file holds the signed note as text, or a checkpoint line of the log (JSON), whose
 * note is used.
 */
import { AtoError } from "../errors.ts";
import { keyIdHex, parseCheckpointBody, parseSignedNote } from "../evidence/index.ts";
import { verifySignature } from "../signer/verify.ts";
import type { Hash } from "../tree/index.ts";
import { MAX_LINE_BYTES } from "../evidence/index.ts";
import { parseLine } from "./bounded.ts";
import { readSmallFile } from "./files.ts";
import { expectedKeyIds, findKey, type TrustedKey } from "./keys.ts";

export interface TrustedCheckpoint {
  file: string;
  origin: string;
  size: number;
  root: Hash;
}

export function loadTrustedCheckpoint(file: string, keys: TrustedKey[]): TrustedCheckpoint {
  const note = noteOf(file);
  let parsed: ReturnType<typeof parseSignedNote>;
  let body: ReturnType<typeof parseCheckpointBody>;
  try {
    parsed = parseSignedNote(note);
    body = parseCheckpointBody(parsed.text);
  } catch (e) {
    if (!(e instanceof AtoError) || e.code !== "CORRUPT") throw e;
    throw new AtoError(`${file} is not a signed checkpoint note: ${e.message}`, "USAGE", { cause: e });
  }
  const text = new TextEncoder().encode(parsed.text);
  for (const sig of parsed.signatures) {
    const key = findKey(keys, sig.keyName, sig.keyId);
    if (!key) continue;
    if (!verifySignature(key.spkiDer, key.algorithm, text, sig.signature)) {
      throw new AtoError(`the trusted checkpoint ${file} has a signature by key '${sig.keyName}' (${keyIdHex(sig.keyId)}) that does not verify`, "UNTRUSTED");
    }
    return { file, origin: body.origin, size: body.size, root: body.root };
  }
  const names = parsed.signatures.map((s) => `'${s.keyName}' (${keyIdHex(s.keyId)})`).join(", ");
  const want = parsed.signatures[0] ? expectedKeyIds(keys, parsed.signatures[0].keyName) : "?";
  throw new AtoError(`the trusted checkpoint ${file} is signed by ${names}, not by the given public key (key ID ${want})`, "UNTRUSTED");
}

function noteOf(file: string): string {
  const text = readSmallFile(file, "the trusted checkpoint", MAX_LINE_BYTES + 1);
  if (!text.trimStart().startsWith("{")) return text;
  const bytes = Buffer.from(text.trim());
  const note = parseLine(bytes, 0, bytes.length).rec?.data.note; // as hostile as a log line: the same bounds
  if (typeof note === "string") return note;
  throw new AtoError(`${file} is JSON but not a checkpoint line with a note`, "USAGE");
}
