/**
 * Reading a segment's lines for the verifier: its line limit, its errors by kind, and the
 * running tree's batches. The loop is src/log/lines.ts's forEachLine (a fixed buffer, each
 * line a range of it with a free byte before it, valid during the callback only), with one
 * addition: before the buffer is reused, the tree hashes the lines it noted in it
 * (StreamTree.flush), so the native hasher can take a whole chunk of lines in one call. On large
 * files with a second CPU, read-ahead.ts reads the same lines with the leaves hashed by a worker.
 */
import { readSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { MAX_LINE_BYTES } from "../evidence/index.ts";
import type { LineHandler } from "../log/lines.ts";
import { usageFromErrno } from "./files.ts";
import { readAhead } from "./hash-worker-read.ts";
import { hashPool } from "./hash-worker-pool.ts";
import type { InputFile } from "./inputs.ts";
import type { RunState } from "./state.ts";

const NEWLINE = 0x0a;
const CHUNK = 1 << 20;

export interface ReadEnd {
  partialLength: number;
  /** The file holds a line over the limit; nothing after it was read. */
  cut: boolean;
}

/**
 * Every line of the file from `from` (the start of a line). A line over the limit is a finding,
 * not an error: the file is not a log from there on. A read that fails (EIO, a file that is not
 * readable after all) is a usage error naming the file. Errors from onLine pass through as they are.
 */
export function readLines(s: RunState | undefined, input: InputFile, onLine: LineHandler, from = 0): ReadEnd {
  const cut = (offset: number): ReadEnd => {
    const message = `the line at byte ${offset} is longer than ${MAX_LINE_BYTES} bytes; this is not an evidence log; the rest of the file was not read`;
    s?.findings.add({ severity: "tampered", file: input.path, message });
    return { partialLength: 0, cut: true };
  };
  const pool = s === undefined ? undefined : hashPool(input.size - from);
  if (pool !== undefined) {
    try {
      return readAhead(s!, input, onLine, from, pool, { read, cut, chunk: CHUNK });
    } finally {
      pool.release();
    }
  }
  let buf = new Uint8Array(CHUNK + 1);
  let filled = 1; // buf[0] is the spare byte before the first line
  let base = from; // file offset of buf[1]
  let pos = from;
  const limit = input.size;
  while (pos < limit) {
    if (filled === buf.length) buf = grow(buf, filled);
    const n = read(input, buf, filled, Math.min(buf.length - filled, limit - pos), pos);
    if (n === 0) break; // the file shrank since its size was taken
    pos += n;
    const end = filled + n;
    const view = buf.subarray(0, end);
    let lineStart = 1;
    for (let nl = view.indexOf(NEWLINE, filled); nl !== -1; nl = view.indexOf(NEWLINE, nl + 1)) {
      if (nl - lineStart > MAX_LINE_BYTES) return cut(base + lineStart - 1);
      if (onLine(buf, lineStart, nl, base + lineStart - 1) === true) return { partialLength: 0, cut: false };
      lineStart = nl + 1;
    }
    s?.tree?.flush(); // the lines it noted are about to be overwritten
    filled = end;
    buf.copyWithin(1, lineStart, filled);
    base += lineStart - 1;
    filled -= lineStart - 1;
    if (filled - 1 > MAX_LINE_BYTES) return cut(base); // checked as it streams, not once it is whole
  }
  return { partialLength: filled - 1, cut: false };
}

function read(input: InputFile, buf: Uint8Array, at: number, length: number, position: number): number {
  try {
    return readSync(input.fd, buf, at, length, position);
  } catch (e) {
    throw usageFromErrno(e, `cannot read ${input.path}`);
  }
}

function grow(buf: Uint8Array, filled: number): Uint8Array {
  const bigger = new Uint8Array(buf.length * 2);
  bigger.set(buf.subarray(0, filled));
  return bigger;
}
