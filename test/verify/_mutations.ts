/**
 * Mutations of a copied audit directory for the verify fuzz test: bytes, lines, files and
 * file types, chosen by a seeded PRNG, each saying what it did. Whether the signed lines
 * changed is not taken from the mutations (a later one can undo an earlier one) but read from
 * the result: `signedChange` compares the directory's content with the original log's.
 */
import { appendFileSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRecord } from "../../src/evidence/index.ts";

/** mulberry32: small, fast, and the same on every machine for a given seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Applied {
  kind: string;
  what: string;
}

const ACTIVE = "signed_evidence.log";

export class Mutator {
  private readonly int: (n: number) => number;
  readonly applied: Applied[] = [];

  constructor(
    private readonly dir: string,
    rand: () => number,
  ) {
    this.int = (n) => Math.floor(rand() * n);
  }

  private pick<T>(xs: T[]): T {
    return xs[this.int(xs.length)]!;
  }

  private files(): string[] {
    return readdirSync(this.dir).filter((n) => {
      try {
        return statSync(join(this.dir, n)).isFile();
      } catch {
        return false;
      }
    });
  }

  private note(kind: string, what: string): void {
    this.applied.push({ kind, what });
  }

  /** Applies one random mutation. */
  one(): void {
    const files = this.files();
    if (files.length === 0) return this.note("none", "no regular file left");
    const ops = [this.byteFlip, this.byteSet, this.bytesInsert, this.bytesDelete, this.truncate, this.lineDelete, this.lineDuplicate, this.lineSwap, this.lineMove, this.lineJunk, this.lineNumber, this.fileDelete, this.fileCopy, this.fileRenameSwap, this.fileType, this.fileLink, this.fileConcat, this.tailAppend];
    this.pick(ops).call(this, files);
  }

  private byteFlip(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    if (b.length === 0) return this.note("byte-flip", `${f} is empty`);
    const at = this.int(b.length);
    b[at]! ^= 1 << this.int(8);
    writeFileSync(join(this.dir, f), b);
    this.note("byte-flip", `${f} byte ${at}`);
  }

  private byteSet(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    if (b.length === 0) return this.note("byte-set", `${f} is empty`);
    const at = this.int(b.length);
    const v = this.pick([0x00, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0xff, 0xc3, 0x30 + this.int(10), this.int(256)]);
    b[at] = v;
    writeFileSync(join(this.dir, f), b);
    this.note("byte-set", `${f} byte ${at} = 0x${v.toString(16)}`);
  }

  private bytesInsert(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    const at = this.int(b.length + 1);
    const junk = Buffer.from(Array.from({ length: 1 + this.int(16) }, () => this.int(256)));
    writeFileSync(join(this.dir, f), Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]));
    this.note("bytes-insert", `${f} ${junk.length} bytes at ${at}`);
  }

  private bytesDelete(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    if (b.length === 0) return this.note("bytes-delete", `${f} is empty`);
    const at = this.int(b.length);
    const n = 1 + this.int(Math.min(64, b.length - at));
    writeFileSync(join(this.dir, f), Buffer.concat([b.subarray(0, at), b.subarray(at + n)]));
    this.note("bytes-delete", `${f} ${n} bytes at ${at}`);
  }

  private truncate(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    const at = this.int(b.length + 1);
    writeFileSync(join(this.dir, f), b.subarray(0, at));
    this.note("truncate", `${f} to ${at} bytes`);
  }

  private lines(f: string): string[] {
    return readFileSync(join(this.dir, f), "latin1").split("\n");
  }

  private writeLines(f: string, l: string[]): void {
    writeFileSync(join(this.dir, f), Buffer.from(l.join("\n"), "latin1"));
  }

  private lineDelete(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 2) return this.note("line-delete", `${f} has no line`);
    const i = this.int(l.length - 1);
    l.splice(i, 1);
    this.writeLines(f, l);
    this.note("line-delete", `${f} line ${i + 1}`);
  }

  private lineDuplicate(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 2) return this.note("line-duplicate", `${f} has no line`);
    const i = this.int(l.length - 1);
    const to = this.int(l.length - 1);
    l.splice(to, 0, l[i]!);
    this.writeLines(f, l);
    this.note("line-duplicate", `${f} line ${i + 1} before line ${to + 1}`);
  }

  private lineSwap(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 3) return this.note("line-swap", `${f} has under two lines`);
    const i = this.int(l.length - 2);
    const j = i + 1 + this.int(l.length - 2 - i);
    [l[i], l[j]] = [l[j]!, l[i]!];
    this.writeLines(f, l);
    this.note("line-swap", `${f} lines ${i + 1} and ${j + 1}`);
  }

  private lineMove(files: string[]): void {
    const [a, b] = [this.pick(files), this.pick(files)];
    const la = this.lines(a);
    if (la.length < 2) return this.note("line-move", `${a} has no line`);
    const i = this.int(la.length - 1);
    const [line] = la.splice(i, 1);
    this.writeLines(a, la);
    const lb = this.lines(b);
    lb.splice(this.int(lb.length), 0, line!);
    this.writeLines(b, lb);
    this.note("line-move", `${a} line ${i + 1} into ${b}`);
  }

  /** A hostile line in a random place: long, deep, huge, random bytes, or a well-formed record. */
  private lineJunk(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    const at = this.int(l.length);
    const junk = this.pick([
      () => "x".repeat(this.pick([1 << 10, (1 << 20) - 1, (1 << 20) + 1, 3 << 20])),
      () => "[".repeat(100_000) + "]".repeat(100_000),
      () => `[${"0,".repeat(200_000)}0]`,
      () => Buffer.from(Array.from({ length: 1 + this.int(200) }, () => 1 + this.int(255)).filter((c) => c !== 0x0a)).toString("latin1"),
      () => encodeRecord({ v: 1, seq: this.int(400), ts: "2030-01-01T00:00:00.000Z", kind: "flow", class: "internal", data: { n: this.int(1000) } }),
      () => (l[this.int(Math.max(1, l.length - 1))] ?? "").replace(/"data":\{/, `"data":{"x":${"[".repeat(50_000)}${"]".repeat(50_000)},`),
    ])();
    l.splice(at, 0, junk);
    this.writeLines(f, l);
    this.note("line-junk", `${f} before line ${at + 1}, ${junk.length} bytes`);
  }

  /** A number in a line changed by one: the JSON stays valid, canonical and well-formed. */
  private lineNumber(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 2) return this.note("line-number", `${f} has no line`);
    const i = this.int(l.length - 1);
    const nums = [...l[i]!.matchAll(/:(\d+)[,}]/g)];
    if (nums.length === 0) return this.note("line-number", `${f} line ${i + 1} has no number`);
    const m = this.pick(nums);
    const start = m.index! + 1;
    l[i] = l[i]!.slice(0, start) + String(Number(m[1]) + 1) + l[i]!.slice(start + m[1]!.length);
    this.writeLines(f, l);
    this.note("line-number", `${f} line ${i + 1} at ${start}`);
  }

  private fileDelete(files: string[]): void {
    const f = this.pick(files);
    rmSync(join(this.dir, f));
    this.note("file-delete", f);
  }

  private fileCopy(files: string[]): void {
    const f = this.pick(files);
    const to = `signed_evidence.${String(100 + this.int(900)).padStart(6, "0")}.log`;
    writeFileSync(join(this.dir, to), readFileSync(join(this.dir, f)));
    this.note("file-copy", `${f} copied to ${to}`);
  }

  private fileRenameSwap(files: string[]): void {
    const rotated = files.filter((f) => f !== ACTIVE);
    if (rotated.length < 2) return this.note("file-rename", "under two rotated files");
    const a = this.pick(rotated);
    const b = this.pick(rotated.filter((x) => x !== a));
    renameSync(join(this.dir, a), join(this.dir, "swap.tmp"));
    renameSync(join(this.dir, b), join(this.dir, a));
    renameSync(join(this.dir, "swap.tmp"), join(this.dir, b));
    this.note("file-rename", `${a} <-> ${b}`); // order comes from the first lines: nothing signed changed
  }

  /** A segment replaced by something that is not a regular file. */
  private fileType(files: string[]): void {
    const f = this.pick(files);
    const p = join(this.dir, f);
    rmSync(p);
    const kind = this.pick(["fifo", "directory", "loop", "devnull", "dangling"]);
    if (kind === "fifo") Bun.spawnSync(["mkfifo", p]);
    else if (kind === "directory") mkdirSync(p);
    else if (kind === "loop") symlinkSync(p, p);
    else if (kind === "devnull") symlinkSync("/dev/null", p);
    else symlinkSync(join(this.dir, "nowhere"), p);
    this.note("file-type", `${f} is now a ${kind}`);
  }

  /** A segment replaced by a link (symbolic or hard) to another. */
  private fileLink(files: string[]): void {
    if (files.length < 2) return this.note("file-link", "under two files");
    const a = this.pick(files);
    const b = this.pick(files.filter((x) => x !== a));
    rmSync(join(this.dir, a));
    if (this.int(2)) symlinkSync(b, join(this.dir, a));
    else linkSync(join(this.dir, b), join(this.dir, a));
    this.note("file-link", `${a} -> ${b}`);
  }

  private fileConcat(files: string[]): void {
    if (files.length < 2) return this.note("file-concat", "under two files");
    const [a, b] = [this.pick(files), this.pick(files)];
    appendFileSync(join(this.dir, a), readFileSync(join(this.dir, b)));
    this.note("file-concat", `${b} appended to ${a}`); // after the active file's end nothing is signed
  }

  /** Lines after the last checkpoint: nothing signed changes, but ato could not have written most. */
  private tailAppend(files: string[]): void {
    if (!files.includes(ACTIVE)) return this.note("tail-append", `${ACTIVE} is not a regular file`); // opening a FIFO to write would block
    const line = this.pick(['{"a":1}', "not json", encodeRecord({ v: 1, seq: 99_999, ts: "2030-01-01T00:00:00.000Z", kind: "flow", class: "internal", data: {} }), "x".repeat(2 << 20)]);
    appendFileSync(join(this.dir, ACTIVE), `${line}\n`);
    this.note("tail-append", `${line.length} bytes after the last line`);
  }
}

const ROTATED = /^signed_evidence\.(\d{6,})\.log$/;

/**
 * What happened to the signed lines (the original log without its last line), read from the
 * files `ato verify` reads, in its order (segment number from the first line, else from the
 * name, the active file last):
 *   "intact"   they are all there, unchanged, in order (anything after them is unsigned);
 *   "cut"      they stop early: the log's end was cut, which offline is a shorter log and only
 *              a checkpoint kept elsewhere (--trusted-checkpoint) shows; also when they differ only
 *              after the last checkpoint line the files still hold (a change there, made after a cut
 *              removed the checkpoints that signed it, is in lines nothing signs any more: offline
 *              it is the same as a log whose writer stopped before signing them);
 *   "changed"  anything else, including a name that is not a regular file, or two names of one file.
 */
export function signedChange(dir: string, signed: Buffer): "intact" | "cut" | "changed" {
  const parts: { order: number; bytes: Buffer }[] = [];
  const seen = new Set<string>();
  for (const name of readdirSync(dir)) {
    const m = ROTATED.exec(name);
    if (!m && name !== ACTIVE) continue;
    let st;
    try {
      st = statSync(join(dir, name));
    } catch {
      return "changed";
    }
    if (!st.isFile() || seen.has(`${st.dev}:${st.ino}`)) return "changed";
    seen.add(`${st.dev}:${st.ino}`);
    const bytes = readFileSync(join(dir, name));
    parts.push({ order: firstLineSegment(bytes) ?? (m ? Number(m[1]) : Number.MAX_SAFE_INTEGER), bytes });
  }
  const all = Buffer.concat(parts.sort((a, b) => a.order - b.order).map((p) => p.bytes));
  const n = Math.min(all.length, signed.length);
  let k = 0;
  while (k < n && all[k] === signed[k]) k++;
  if (k === n) return all.length >= signed.length ? "intact" : "cut";
  // The first difference is signed only if a checkpoint line still follows it (the line holding it included).
  return all.indexOf('"kind":"checkpoint"', all.lastIndexOf(0x0a, k - 1) + 1) >= 0 ? "changed" : "cut";
}

function firstLineSegment(bytes: Buffer): number | undefined {
  const nl = bytes.indexOf(0x0a);
  try {
    const first = JSON.parse(bytes.subarray(0, nl < 0 ? Math.min(bytes.length, 1 << 16) : Math.min(nl, 1 << 16)).toString("utf8"));
    return first?.kind === "segment" && Number.isSafeInteger(first.data?.segment) ? first.data.segment : undefined;
  } catch {
    return undefined;
  }
}
