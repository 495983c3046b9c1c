/**
 * Streams the lines of a file up to a byte limit with a fixed buffer: the memory does not
 * grow with the file. Each line is handed over as a range of the buffer, valid during the
 * callback only. The byte before every line in the buffer is free for the caller to use
 * (the previous line's newline, or a spare byte), which lets the leaf hash
 * SHA-256(0x00 || line) run in place without copying the line: see `leafHashInPlace`.
 */
import { readSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { LEAF_HASH_PREFIX, sha256, type Hash } from "../tree/index.ts";

const NEWLINE = 0x0a;
const MAX_LINE = 64 << 20;

/** Called per line; returning true stops the reading early. */
export type LineHandler = (buf: Uint8Array, start: number, end: number, offset: number) => void | boolean;

export interface LinesEnd {
  /** Bytes after the last newline (a line still being written, or torn by a crash). */
  partialLength: number;
  partialOffset: number;
  /** The number of complete lines. */
  lines: number;
}

export interface LineOptions {
  chunkSize?: number;
  /** The longest line accepted (bytes before its newline); a longer one throws CORRUPT. */
  maxLine?: number;
  /** File offset to start at (the start of a line). */
  from?: number;
}

export function forEachLine(fd: number, limit: number, onLine: LineHandler, o: LineOptions = {}): LinesEnd {
  const maxLine = o.maxLine ?? MAX_LINE;
  let buf: Uint8Array = new Uint8Array((o.chunkSize ?? 1 << 20) + 1);
  let filled = 1; // buf[0] is the spare byte before the first line
  let base = o.from ?? 0; // file offset of buf[1]
  let pos = base;
  let lines = 0;
  while (pos < limit) {
    if (filled === buf.length) buf = grow(buf, filled);
    const n = readSync(fd, buf, filled, Math.min(buf.length - filled, limit - pos), pos);
    if (n === 0) break; // the file shrank since its size was taken
    pos += n;
    const view = buf.subarray(0, filled + n);
    let lineStart = 1;
    for (let nl = view.indexOf(NEWLINE, filled); nl !== -1; nl = view.indexOf(NEWLINE, nl + 1)) {
      if (nl - lineStart > maxLine) throw tooLong(maxLine, base + lineStart - 1);
      lines++;
      if (onLine(buf, lineStart, nl, base + lineStart - 1) === true) return { partialLength: 0, partialOffset: base + nl, lines };
      lineStart = nl + 1;
    }
    filled += n;
    buf.copyWithin(1, lineStart, filled);
    base += lineStart - 1;
    filled -= lineStart - 1;
    if (filled - 1 > maxLine) throw tooLong(maxLine, base); // checked as it streams, not once it is whole
  }
  return { partialLength: filled - 1, partialOffset: base, lines };
}

function tooLong(maxLine: number, offset: number): AtoError {
  return new AtoError(`the line at byte ${offset} is longer than ${maxLine} bytes; this is not an evidence log`, "CORRUPT");
}

function grow(buf: Uint8Array, filled: number): Uint8Array {
  const bigger = new Uint8Array(buf.length * 2);
  bigger.set(buf.subarray(0, filled));
  return bigger;
}

/** SHA-256(0x00 || buf[start:end]) using the free byte at start-1, restored afterwards. */
export function leafHashInPlace(buf: Uint8Array, start: number, end: number): Hash {
  const saved = buf[start - 1]!;
  buf[start - 1] = LEAF_HASH_PREFIX;
  // A view made by the constructor costs half what subarray() does in JSC (measured: 65 vs 142 ns).
  const h = sha256(new Uint8Array(buf.buffer, buf.byteOffset + start - 1, end - start + 1));
  buf[start - 1] = saved;
  return h;
}
