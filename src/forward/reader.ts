/**
 * Reads the evidence log from a cursor, in batches bounded by records and bytes: memory stays
 * the size of one batch whatever the lag, because the log on disk is the buffer. Only
 * complete lines are read (a line still being written waits for its newline); a segment is
 * left for the next one only once it has been renamed, i.e. can no longer grow.
 */
import { fstatSync, readSync } from "node:fs";
import { AtoError } from "../errors.ts";
import type { Cursor } from "./cursor.ts";
import type { ForwardEvent } from "./event.ts";
import { cutLines, lastLineOf } from "./lines.ts";
import { closeSegment, openSegment, segmentsPresent, type OpenSegment } from "./segments.ts";

const MAX_LINE = 64 << 20;

export interface ReadLimits {
  records: number;
  bytes: number;
}

export interface Batch {
  events: ForwardEvent[];
  /** The cursor after the last event. */
  next: Cursor;
}

export class LogReader {
  private seg: OpenSegment | undefined;
  private buf = new Uint8Array(0);

  constructor(readonly dir: string, private readonly describeCursor = "the cursor") {}

  /** The cursor to start from: the one given, checked against the log, or the log's first line. Undefined: no log yet. */
  start(c: Cursor | undefined): Cursor | undefined {
    if (c === undefined) return this.fromBeginning();
    const seg = this.open(c.segment);
    if (!seg) return this.missing(c);
    if (seg.header.log_id !== c.log_id) throw this.replaced(`${this.describeCursor} belongs to log ${c.log_id}, ${seg.path} to log ${seg.header.log_id}`);
    const size = fstatSync(seg.fd).size;
    if (c.offset > size) throw this.replaced(`${this.describeCursor} points at byte ${c.offset} of segment ${c.segment}, which has only ${size} bytes`);
    if (c.offset > 0 && this.seqBefore(seg, c.offset) !== c.seq - 1) throw this.replaced(`the line before ${this.describeCursor} (byte ${c.offset} of ${seg.path}) is not seq ${c.seq - 1}`);
    return c;
  }

  read(from: Cursor, limits: ReadLimits): Batch {
    const events: ForwardEvent[] = [];
    let cur = { ...from };
    let bytes = 0;
    while (events.length < limits.records && bytes < limits.bytes) {
      const seg = this.open(cur.segment);
      if (!seg) break;
      const size = fstatSync(seg.fd).size;
      if (cur.offset > size) throw this.replaced(`segment ${cur.segment} (${seg.path}) shrank below the forwarder's position ${cur.offset}`);
      if (cur.offset === size) {
        if (!seg.rotated) {
          if (!this.reopenIfRotated(cur.segment)) break;
          continue;
        }
        const next = this.open(cur.segment + 1);
        if (!next) break;
        if (next.header.log_id !== cur.log_id) throw this.replaced(`segment ${cur.segment + 1} belongs to log ${next.header.log_id}, not ${cur.log_id}`);
        cur = { ...cur, segment: cur.segment + 1, offset: 0, origin: next.header.origin };
        continue;
      }
      const want = Math.min(size - cur.offset, Math.max(limits.bytes - bytes, 1));
      const got = this.chunk(seg, cur.offset, want, size);
      if (got === undefined) break;
      const cut = cutLines(got, seg.header.origin, cur.seq, () => seg.path, limits.records - events.length);
      if (cut.unparsableAt !== undefined && cut.events.length === 0) {
        if (!seg.rotated && cur.offset + got.length >= size) break; // may be a torn tail that repair will cut
        throw new AtoError(`${seg.path}: the line at byte ${cur.offset} (seq ${cur.seq}) is not an evidence record`, "CORRUPT");
      }
      if (cut.events.length === 0) break;
      for (const e of cut.events) bytes += e.line.length;
      events.push(...cut.events);
      cur = { ...cur, offset: cur.offset + cut.used, seq: cur.seq + cut.events.length };
    }
    return { events, next: cur };
  }

  /** The seq after the newest complete line of the log, and that line's time (for the lag). */
  head(): { size: number; ts: string } | undefined {
    const segs = segmentsPresent(this.dir);
    const last = segs.at(-1);
    if (last === undefined) return undefined;
    const seg = openSegment(this.dir, last);
    if (!seg) return undefined;
    try {
      const size = fstatSync(seg.fd).size;
      const tail = Buffer.alloc(Math.min(size, 1 << 16));
      readSync(seg.fd, tail, 0, tail.length, size - tail.length);
      const l = lastLineOf(tail);
      return l && { size: l.seq + 1, ts: l.ts };
    } finally {
      closeSegment(seg);
    }
  }

  close(): void {
    closeSegment(this.seg);
    this.seg = undefined;
  }

  /**
   * Bytes from `offset`: `want` of them, or more when one line is longer, up to its newline.
   * One buffer is reused for every read (events copy their lines out as strings), so a long
   * lag makes no garbage beyond the batch's own events.
   */
  private chunk(seg: OpenSegment, offset: number, want: number, size: number): Uint8Array | undefined {
    let len = want;
    for (;;) {
      if (this.buf.length < len) this.buf = new Uint8Array(len);
      const n = readSync(seg.fd, this.buf, 0, len, offset);
      const view = this.buf.subarray(0, n);
      if (view.indexOf(0x0a) >= 0) return view;
      if (offset + n >= size) return undefined; // a line still being written
      if (len >= MAX_LINE) throw new AtoError(`${seg.path}: a line at byte ${offset} is longer than ${MAX_LINE >> 20} MiB`, "CORRUPT");
      len = Math.min(len * 2, MAX_LINE, size - offset);
    }
  }

  private open(n: number): OpenSegment | undefined {
    if (this.seg?.segment === n) return this.seg;
    const s = openSegment(this.dir, n);
    if (s) {
      this.close();
      this.seg = s;
    }
    return s;
  }

  /** The active file of segment n was renamed since it was opened: read the rest from the rotated file. */
  private reopenIfRotated(n: number): boolean {
    const s = openSegment(this.dir, n);
    if (!s?.rotated) {
      closeSegment(s);
      return false;
    }
    this.close();
    this.seg = s;
    return true;
  }

  private fromBeginning(): Cursor | undefined {
    const first = segmentsPresent(this.dir)[0];
    if (first === undefined) return undefined;
    const seg = this.open(first);
    if (!seg) return undefined;
    return { log_id: seg.header.log_id, origin: seg.header.origin, segment: first, offset: 0, seq: seg.header.tree_size };
  }

  private missing(c: Cursor): never {
    const present = segmentsPresent(this.dir);
    if (present.some((n) => n > c.segment)) {
      throw this.replaced(`segment ${c.segment}, where ${this.describeCursor} points, is gone while later ones are present (${present.join(", ")})`);
    }
    const have = present.length ? `the log ends at segment ${present.at(-1)}` : "there is no evidence log";
    throw this.replaced(`${this.describeCursor} points at segment ${c.segment} (seq ${c.seq}) but ${have} in ${this.dir}`);
  }

  private seqBefore(seg: OpenSegment, offset: number): number | undefined {
    const len = Math.min(offset, 1 << 16);
    const buf = Buffer.alloc(len);
    readSync(seg.fd, buf, 0, len, offset - len);
    if (buf[len - 1] !== 0x0a) return undefined;
    const head = offset === len ? Buffer.concat([Buffer.from("\n"), buf]) : buf;
    return lastLineOf(head)?.seq;
  }

  private replaced(what: string): AtoError {
    return new AtoError(
      `${what}: the log was replaced or truncated after it was forwarded; refusing to guess where to continue (move the cursor file away to forward this log from its start)`,
      "CORRUPT",
    );
  }
}
