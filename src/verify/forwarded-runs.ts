/**
 * Sorted runs of forwarded events on disk, and their merge: how an export larger than memory
 * is put in seq order (forwarded.ts). A run is a file of records `seq src n length\n` followed
 * by the line's bytes and a newline: the line is taken as bytes, whatever it holds. The merge
 * reads every run through a buffer of its own and yields the events in (seq, src, n) order.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { AtoError } from "../errors.ts";

export interface ExportEvent {
  seq: number;
  /** Which export file, and which line of it: to name a conflicting copy. */
  src: number;
  n: number;
  line: Buffer;
}

/** By seq, and for one seq in the order the copies were read (the later copy is the one named). */
export function byPlace(a: ExportEvent, b: ExportEvent): number {
  return a.seq - b.seq || a.src - b.src || a.n - b.n;
}

export function writeRun(path: string, events: Iterable<ExportEvent>): void {
  const fd = openSync(path, "w", 0o600);
  const chunk = Buffer.allocUnsafe(1 << 20);
  let used = 0;
  const flush = () => {
    for (let off = 0; off < used; ) off += writeSync(fd, chunk, off, used - off);
    used = 0;
  };
  try {
    for (const e of events) {
      const head = `${e.seq} ${e.src} ${e.n} ${e.line.length}\n`;
      if (used + head.length + e.line.length + 1 > chunk.length) flush();
      if (head.length + e.line.length + 1 > chunk.length) {
        const whole = Buffer.concat([Buffer.from(head), e.line, Buffer.from("\n")]);
        for (let off = 0; off < whole.length; ) off += writeSync(fd, whole, off, whole.length - off);
        continue;
      }
      used += chunk.write(head, used, "latin1");
      used += e.line.copy(chunk, used);
      chunk[used++] = 0x0a;
    }
    flush();
  } finally {
    closeSync(fd);
  }
}

/** One run read back in order, through a buffer that grows only for a line longer than it. */
class RunReader {
  private buf = Buffer.allocUnsafe(64 << 10);
  private pos = 0;
  private end = 0;
  private fileOffset = 0;
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
  }

  next(): ExportEvent | undefined {
    let nl = this.buf.indexOf(0x0a, this.pos);
    if (nl < 0 || nl >= this.end) {
      if (!this.fill(64)) {
        if (this.end > this.pos) throw this.broken();
        return undefined;
      }
      nl = this.buf.indexOf(0x0a, this.pos);
      if (nl < 0 || nl >= this.end) throw this.broken();
    }
    const [seq, src, n, len] = this.buf.toString("latin1", this.pos, nl).split(" ").map(Number) as [number, number, number, number];
    this.pos = nl + 1;
    if (this.end - this.pos < len + 1) this.fill(len + 1);
    if (this.end - this.pos < len + 1 || !Number.isSafeInteger(len)) throw this.broken();
    const line = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len + 1;
    return { seq, src, n, line };
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Keeps the unread bytes and reads on until at least `want` are there; false at the end of the file. */
  private fill(want: number): boolean {
    const left = this.end - this.pos;
    if (want > this.buf.length) {
      const bigger = Buffer.allocUnsafe(want * 2);
      this.buf.copy(bigger, 0, this.pos, this.end);
      this.buf = bigger;
    } else this.buf.copy(this.buf, 0, this.pos, this.end);
    this.pos = 0;
    this.end = left;
    while (this.end < want) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.fileOffset);
      if (got === 0) break;
      this.fileOffset += got;
      this.end += got;
    }
    return this.end > 0 && (this.end >= want || this.end > left);
  }

  private broken(): AtoError {
    return new AtoError(`the temporary run ${this.path} is cut short (was the temporary directory changed?)`, "IO");
  }
}

/** Runs merged at once: the merge holds one reader buffer per run, so this bounds its memory. */
export const FAN_IN = 64;

/**
 * Merges runs FAN_IN at a time into longer ones (removing what was merged) until at most
 * FAN_IN are left: memory stays the same whatever the number of runs; each extra level reads
 * and writes the events once more.
 */
export function narrowRuns(paths: string[]): string[] {
  const runs = [...paths];
  for (let level = 0; runs.length > FAN_IN; level++) {
    const group = runs.splice(0, FAN_IN);
    const merged = `${group[0]}.m${level}`;
    writeRun(merged, mergeRuns(group));
    for (const p of group) rmSync(p, { force: true });
    runs.push(merged);
  }
  return runs;
}

/** The events of every run in (seq, src, n) order: a binary heap over the runs' heads. */
export function* mergeRuns(paths: string[]): Generator<ExportEvent> {
  const readers = paths.map((p) => new RunReader(p));
  try {
    const heap: { e: ExportEvent; r: RunReader }[] = [];
    const less = byPlace;
    const push = (x: { e: ExportEvent; r: RunReader }) => {
      heap.push(x);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (less(heap[i]!.e, heap[p]!.e) >= 0) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    };
    const pop = () => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l]!.e, heap[m]!.e) < 0) m = l;
          if (r < heap.length && less(heap[r]!.e, heap[m]!.e) < 0) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      return top;
    };
    for (const r of readers) {
      const e = r.next();
      if (e) push({ e, r });
    }
    while (heap.length > 0) {
      const top = pop();
      yield top.e;
      const e = top.r.next();
      if (e) push({ e, r: top.r });
    }
  } finally {
    for (const r of readers) r.close();
  }
}
