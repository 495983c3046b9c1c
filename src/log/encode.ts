/**
 * Records of one kind encoded as canonical lines (RFC 8785) in one buffer, ready for a single
 * write(2), with each line's Merkle leaf hash computed in place (no copy of the line).
 */
import { AtoError } from "../errors.ts";
import { encodeRecord, type RecordData } from "../evidence/index.ts";
import type { Hash } from "../tree/index.ts";
import { leafHashInPlace } from "./lines.ts";

export const MAX_LINE_BYTES = 1 << 20;

/** `text` starts with one spare byte (the leaf hash's prefix goes there): write text.subarray(1). */
export function encodeLines(kind: string, data: RecordData[], cls: string, firstSeq: number, ts: string): { text: Buffer; leaves: Hash[] } {
  const lines = data.map((d, i) => encodeRecord({ v: 1, seq: firstSeq + i, ts, kind, class: cls, data: d }));
  const text = Buffer.from(`\n${lines.join("\n")}\n`);
  const leaves: Hash[] = [];
  for (let start = 1; start < text.length; ) {
    const end = text.indexOf(0x0a, start);
    if (end - start > MAX_LINE_BYTES) throw new AtoError(`a ${kind} record of ${end - start} bytes is larger than the ${MAX_LINE_BYTES}-byte limit`, "USAGE");
    leaves.push(leafHashInPlace(text, start, end));
    start = end + 1;
  }
  return { text, leaves };
}
