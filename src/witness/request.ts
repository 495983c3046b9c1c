/**
 * The body of `POST /add-checkpoint` (c2sp.org/tlog-witness):
 *
 *   old <size>\n            no leading zeroes (0 is "0")
 *   <base64 hash>\n         0 to 63 consistency proof lines
 *   \n
 *   <signed checkpoint note>
 *
 * Anything else is malformed (400).
 */
import { AtoError } from "../errors.ts";
import { hashFromBase64, type Hash } from "../tree/index.ts";

export const MAX_PROOF_LINES = 63;

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Hash[];
  /** The signed note, from its first line to the end of the body. */
  note: string;
}

export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const blank = body.indexOf("\n\n");
  if (blank < 0) throw malformed("no empty line between the old size and proof lines and the checkpoint");
  const head = body.slice(0, blank).split("\n");
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0]!);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw malformed(`the first line '${head[0]!.slice(0, 40)}' is not 'old <size>'`);
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw malformed(`${lines.length} consistency proof lines; at most ${MAX_PROOF_LINES} are allowed`);
  const proof = lines.map((l, i) => {
    try {
      return hashFromBase64(l, `consistency proof line ${i + 1}`);
    } catch (e) {
      throw malformed(`consistency proof line ${i + 1} is not a base64 SHA-256 hash`, e);
    }
  });
  return { oldSize: Number(m[1]), proof, note: body.slice(blank + 2) };
}

export function formatAddCheckpoint(r: AddCheckpointRequest): string {
  const proof = r.proof.map((h) => `${Buffer.from(h).toString("base64")}\n`).join("");
  return `old ${r.oldSize}\n${proof}\n${r.note}`;
}

function malformed(why: string, cause?: unknown): AtoError {
  return new AtoError(`add-checkpoint request: ${why}`, "CORRUPT", { cause });
}
