/**
 * Reading a segment's lines for the verifier: its line limit, its errors by kind, and the
 * running tree's batches. The loop is src/log/lines.ts's scanLines (a fixed buffer, each line a
 * range of it with a free byte before it, valid during the callback only), with one hook: before
 * the buffer is reused, the tree hashes the lines it noted in it (StreamTree.flush), so the native
 * hasher can take a whole chunk of lines in one call. On large files with a second CPU, the same
 * loop reads chunks ahead into shared memory and a worker hashes their leaves
 * (hash-worker-read.ts).
 */
import { readSync } from "node:fs";
import { MAX_LINE_BYTES } from "../evidence/index.ts";
import { oneBuffer, scanLines, type LineHandler, type LineSource } from "../log/lines.ts";
import { usageFromErrno } from "./files.ts";
import { aheadSource } from "./hash-worker-read.ts";
import { hashPool } from "./hash-worker-pool.ts";
import type { InputFile } from "./inputs.ts";
import type { RunState } from "./state.ts";

/** Bytes per read: about 3,700 lines of a flow log, one job of the hash worker. */
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
  const read = (buf: Uint8Array, at: number, length: number, position: number): number => {
    try {
      return readSync(input.fd, buf, at, length, position);
    } catch (e) {
      throw usageFromErrno(e, `cannot read ${input.path}`);
    }
  };
  const pool = s === undefined ? undefined : hashPool(input.size - from);
  const src: LineSource = pool ? aheadSource(s!, pool, read, CHUNK) : { ...oneBuffer(read, CHUNK), reuse: () => s?.tree?.flush() };
  try {
    const end = scanLines(src, onLine, { limit: input.size, maxLine: MAX_LINE_BYTES, from });
    if (end.tooLong === undefined) return { partialLength: end.partialLength, cut: false };
    const message = `the line at byte ${end.tooLong} is longer than ${MAX_LINE_BYTES} bytes; this is not an evidence log; the rest of the file was not read`;
    s?.findings.add({ severity: "tampered", file: input.path, message });
    return { partialLength: 0, cut: true };
  } finally {
    pool?.release();
  }
}
