/**
 * read.ts's loop with the hash worker: two chunk buffers in shared memory, and chunk N+1 read, split
 * into lines and handed to the worker (hash-worker-pool.ts) before chunk N's lines go to onLine, so
 * the worker hashes N+1's leaves while this thread checks N. The lines, their order, the limit and
 * the findings are read.ts's exactly: the same checks run at the same points, on the same bytes; only
 * the next read happens earlier, and an error from it is held until read.ts would have read.
 */
import { MAX_LINE_BYTES } from "../evidence/index.ts";
import type { LineHandler } from "../log/lines.ts";
import { JOB_LINES } from "./hash-worker-jobs.ts";
import { leafSource, type HashPool } from "./hash-worker-pool.ts";
import type { InputFile } from "./inputs.ts";
import type { ReadEnd } from "./read.ts";
import type { RunState } from "./state.ts";
import { provideLeaves } from "./stream-tree.ts";

const NEWLINE = 0x0a;

interface Io {
  read(input: InputFile, buf: Uint8Array, at: number, length: number, position: number): number;
  cut(offset: number): ReadEnd;
  chunk: number;
}

/** One filled slot: bytes [1, end) of buf, file offset of buf[1] is base; `filled` where this read began. */
interface Chunk {
  slot: number;
  buf: Uint8Array;
  base: number;
  filled: number;
  end: number;
  /** Lines handed to the worker (the first ones of the chunk, at most JOB_LINES). */
  count: number;
  /** "eof": nothing left to read; "short": the file shrank; else the read's error, if any, held. */
  stop?: "eof" | "short";
  error?: unknown;
}

export function readAhead(s: RunState, input: InputFile, onLine: LineHandler, from: number, pool: HashPool, io: Io): ReadEnd {
  let pos = from;
  const limit = input.size;
  const fill = (slot: number, prev: Uint8Array, ls: number, le: number, base: number): Chunk => {
    pool.cancel(slot); // its last job, if still out, is withdrawn or finished before the buffer is reused
    const left = le - ls;
    let buf = pool.buffer(slot, left + 1, io.chunk + 1);
    if (left + 1 === buf.length) buf = pool.buffer(slot, buf.length, io.chunk + 1); // read.ts grows a full buffer
    if (left > 0) buf.set(prev.subarray(ls, le), 1);
    const filled = left + 1;
    const c: Chunk = { slot, buf, base, filled, end: filled, count: 0 };
    if (pos >= limit) return { ...c, stop: "eof" };
    let n: number;
    try {
      n = io.read(input, buf, filled, Math.min(buf.length - filled, limit - pos), pos);
    } catch (e) {
      return { ...c, error: e };
    }
    if (n === 0) return { ...c, stop: "short" };
    pos += n;
    c.end = filled + n;
    const spans = pool.spans[slot]!;
    const view = buf.subarray(0, c.end);
    let count = 0;
    let lineStart = 1;
    for (let nl = view.indexOf(NEWLINE, filled); nl !== -1 && count < JOB_LINES; nl = view.indexOf(NEWLINE, nl + 1)) {
      if (nl - lineStart > MAX_LINE_BYTES) break; // read.ts stops here: a finding, no leaves needed
      spans[2 * count] = lineStart;
      spans[2 * count + 1] = nl - lineStart;
      count++;
      lineStart = nl + 1;
    }
    c.count = count;
    if (count > 0) pool.submit(slot, count);
    return c;
  };

  let cur = fill(0, new Uint8Array(1), 1, 1, from);
  for (;;) {
    if (cur.error !== undefined) throw cur.error;
    if (cur.stop !== undefined) return { partialLength: cur.filled - 1, cut: false };
    const { buf, base, filled, end } = cur;
    const view = buf.subarray(0, end);
    const last = view.subarray(filled).lastIndexOf(NEWLINE);
    const rest = last === -1 ? 1 : filled + last + 1; // where the leftover begins once every line went through
    const nextBase = base + rest - 1;
    // Read ahead unless read.ts would stop after this chunk anyway (a leftover over the limit).
    const next = end - rest > MAX_LINE_BYTES ? undefined : fill(1 - cur.slot, buf, rest, end, nextBase);
    provideLeaves(cur.count > 0 ? leafSource(pool, cur.slot, buf, cur.count) : undefined);
    try {
      let lineStart = 1;
      for (let nl = view.indexOf(NEWLINE, filled); nl !== -1; nl = view.indexOf(NEWLINE, nl + 1)) {
        if (nl - lineStart > MAX_LINE_BYTES) return io.cut(base + lineStart - 1);
        if (onLine(buf, lineStart, nl, base + lineStart - 1) === true) return { partialLength: 0, cut: false };
        lineStart = nl + 1;
      }
    } finally {
      // The lines the tree noted are about to be overwritten (the slots outlive this call: flushed on every exit).
      s.tree?.flush();
      provideLeaves(undefined);
    }
    if (next === undefined) return io.cut(nextBase);
    cur = next;
  }
}
