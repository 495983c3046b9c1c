/**
 * Mutations of a copied audit directory for the verify fuzz test: bytes, lines, files and
 * file types, chosen by a seeded PRNG. Each says what it did and whether it changed a signed
 * line for certain (`signed`): when it did, `ato verify` must not exit 0. A mutation that
 * only touches the unsigned last line, renames files, or cannot be classified surely says
 * `signed: false`, and then only the other invariants apply (no hang, no internal error,
 * memory under the bound).
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
  signed: boolean;
  /**
   * Only a trusted checkpoint shows this change: the log's end was cut (after a checkpoint,
   * or inside a line, which looks like one still being written). Offline, a log cut after a
   * checkpoint is a shorter log; RFC 9162 logs need a checkpoint kept elsewhere for that.
   */
  needsTrusted?: boolean;
}

const ACTIVE = "signed_evidence.log";

export class Mutator {
  private readonly int: (n: number) => number;
  /** Files whose bytes have moved (a later offset no longer says which line it is in). */
  private readonly shifted = new Set<string>();
  readonly applied: Applied[] = [];

  constructor(
    private readonly dir: string,
    rand: () => number,
    /** Byte offset where the unsigned last line of the active segment starts. */
    private readonly unsignedFrom: number,
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

  /** True when [from, to) of a file lies in signed bytes for certain. */
  private signedAt(file: string, from: number): boolean {
    if (this.shifted.has(file)) return false;
    return file !== ACTIVE || from < this.unsignedFrom;
  }

  private note(kind: string, what: string, signed: boolean, needsTrusted = false): void {
    this.applied.push({ kind, what, signed, needsTrusted });
  }

  /** Applies one random mutation. */
  one(): void {
    const files = this.files();
    if (files.length === 0) return this.note("none", "no regular file left", false);
    const ops = [this.byteFlip, this.byteSet, this.bytesInsert, this.bytesDelete, this.truncate, this.lineDelete, this.lineDuplicate, this.lineSwap, this.lineMove, this.lineJunk, this.lineNumber, this.fileDelete, this.fileCopy, this.fileRenameSwap, this.fileType, this.fileLink, this.fileConcat, this.tailAppend];
    this.pick(ops).call(this, files);
  }

  private byteFlip(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    if (b.length === 0) return this.note("byte-flip", `${f} is empty`, false);
    const at = this.int(b.length);
    b[at]! ^= 1 << this.int(8);
    writeFileSync(join(this.dir, f), b);
    this.note("byte-flip", `${f} byte ${at}`, this.signedAt(f, at));
  }

  private byteSet(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    if (b.length === 0) return this.note("byte-set", `${f} is empty`, false);
    const at = this.int(b.length);
    const v = this.pick([0x00, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0xff, 0xc3, 0x30 + this.int(10), this.int(256)]);
    const changed = b[at] !== v;
    b[at] = v;
    writeFileSync(join(this.dir, f), b);
    this.note("byte-set", `${f} byte ${at} = 0x${v.toString(16)}`, changed && this.signedAt(f, at));
  }

  private bytesInsert(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    const at = this.int(b.length + 1);
    const junk = Buffer.from(Array.from({ length: 1 + this.int(16) }, () => this.int(256)));
    writeFileSync(join(this.dir, f), Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]));
    this.note("bytes-insert", `${f} ${junk.length} bytes at ${at}`, this.signedAt(f, at) && at < b.length);
    this.shifted.add(f);
  }

  private bytesDelete(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    if (b.length === 0) return this.note("bytes-delete", `${f} is empty`, false);
    const at = this.int(b.length);
    const n = 1 + this.int(Math.min(64, b.length - at));
    writeFileSync(join(this.dir, f), Buffer.concat([b.subarray(0, at), b.subarray(at + n)]));
    this.note("bytes-delete", `${f} ${n} bytes at ${at}`, this.signedAt(f, at));
    this.shifted.add(f);
  }

  private truncate(files: string[]): void {
    const f = this.pick(files);
    const b = readFileSync(join(this.dir, f));
    const at = this.int(b.length + 1);
    writeFileSync(join(this.dir, f), b.subarray(0, at));
    this.note("truncate", `${f} to ${at} bytes`, at < b.length && this.signedAt(f, at), f === ACTIVE);
    this.shifted.add(f);
  }

  private lines(f: string): string[] {
    return readFileSync(join(this.dir, f), "latin1").split("\n");
  }

  private writeLines(f: string, l: string[]): void {
    writeFileSync(join(this.dir, f), Buffer.from(l.join("\n"), "latin1"));
    this.shifted.add(f);
  }

  /** Whether line i of f is signed for certain (rotated files: every line; the active: all but the last). */
  private lineSigned(f: string, l: string[], i: number): boolean {
    if (this.shifted.has(f)) return false;
    return f !== ACTIVE || i < l.length - 2; // l ends with "" after the final newline
  }

  private lineDelete(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 2) return this.note("line-delete", `${f} has no line`, false);
    const i = this.int(l.length - 1);
    const signed = this.lineSigned(f, l, i);
    l.splice(i, 1);
    this.writeLines(f, l);
    this.note("line-delete", `${f} line ${i + 1}`, signed);
  }

  private lineDuplicate(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 2) return this.note("line-duplicate", `${f} has no line`, false);
    const i = this.int(l.length - 1);
    const to = this.int(l.length - 1);
    const signed = this.lineSigned(f, l, to) && !this.shifted.has(f);
    l.splice(to, 0, l[i]!);
    this.writeLines(f, l);
    this.note("line-duplicate", `${f} line ${i + 1} before line ${to + 1}`, signed);
  }

  private lineSwap(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 3) return this.note("line-swap", `${f} has under two lines`, false);
    const i = this.int(l.length - 2);
    const j = i + 1 + this.int(l.length - 2 - i);
    const signed = l[i] !== l[j] && this.lineSigned(f, l, i);
    [l[i], l[j]] = [l[j]!, l[i]!];
    this.writeLines(f, l);
    this.note("line-swap", `${f} lines ${i + 1} and ${j + 1}`, signed);
  }

  private lineMove(files: string[]): void {
    const [a, b] = [this.pick(files), this.pick(files)];
    const la = this.lines(a);
    if (la.length < 2) return this.note("line-move", `${a} has no line`, false);
    const i = this.int(la.length - 1);
    const signed = this.lineSigned(a, la, i);
    const [line] = la.splice(i, 1);
    this.writeLines(a, la);
    const lb = this.lines(b);
    lb.splice(this.int(lb.length), 0, line!);
    this.writeLines(b, lb);
    this.note("line-move", `${a} line ${i + 1} into ${b}`, signed);
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
    const signed = at < l.length - 1 && !this.shifted.has(f) && (f !== ACTIVE || at < l.length - 2);
    l.splice(at, 0, junk);
    this.writeLines(f, l);
    this.note("line-junk", `${f} before line ${at + 1}, ${junk.length} bytes`, signed);
  }

  /** A number in a line changed by one: the JSON stays valid, canonical and well-formed. */
  private lineNumber(files: string[]): void {
    const f = this.pick(files);
    const l = this.lines(f);
    if (l.length < 2) return this.note("line-number", `${f} has no line`, false);
    const i = this.int(l.length - 1);
    const nums = [...l[i]!.matchAll(/:(\d+)[,}]/g)];
    if (nums.length === 0) return this.note("line-number", `${f} line ${i + 1} has no number`, false);
    const m = this.pick(nums);
    const start = m.index! + 1;
    l[i] = l[i]!.slice(0, start) + String(Number(m[1]) + 1) + l[i]!.slice(start + m[1]!.length);
    const signed = this.lineSigned(f, l, i);
    this.writeLines(f, l);
    this.note("line-number", `${f} line ${i + 1} at ${start}`, signed);
  }

  private fileDelete(files: string[]): void {
    const f = this.pick(files);
    rmSync(join(this.dir, f));
    this.note("file-delete", f, true);
  }

  private fileCopy(files: string[]): void {
    const f = this.pick(files);
    const to = `signed_evidence.${String(100 + this.int(900)).padStart(6, "0")}.log`;
    writeFileSync(join(this.dir, to), readFileSync(join(this.dir, f)));
    this.note("file-copy", `${f} copied to ${to}`, true);
  }

  private fileRenameSwap(files: string[]): void {
    const rotated = files.filter((f) => f !== ACTIVE);
    if (rotated.length < 2) return this.note("file-rename", "under two rotated files", false);
    const a = this.pick(rotated);
    const b = this.pick(rotated.filter((x) => x !== a));
    renameSync(join(this.dir, a), join(this.dir, "swap.tmp"));
    renameSync(join(this.dir, b), join(this.dir, a));
    renameSync(join(this.dir, "swap.tmp"), join(this.dir, b));
    this.note("file-rename", `${a} <-> ${b}`, false); // order comes from the first lines: nothing signed changed
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
    this.note("file-type", `${f} is now a ${kind}`, true);
  }

  /** A segment replaced by a link (symbolic or hard) to another. */
  private fileLink(files: string[]): void {
    if (files.length < 2) return this.note("file-link", "under two files", false);
    const a = this.pick(files);
    const b = this.pick(files.filter((x) => x !== a));
    rmSync(join(this.dir, a));
    if (this.int(2)) symlinkSync(b, join(this.dir, a));
    else linkSync(join(this.dir, b), join(this.dir, a));
    this.note("file-link", `${a} -> ${b}`, true);
  }

  private fileConcat(files: string[]): void {
    if (files.length < 2) return this.note("file-concat", "under two files", false);
    const [a, b] = [this.pick(files), this.pick(files)];
    appendFileSync(join(this.dir, a), readFileSync(join(this.dir, b)));
    this.shifted.add(a);
    this.note("file-concat", `${b} appended to ${a}`, a !== ACTIVE); // after the active file's end nothing is signed
  }

  /** Lines after the last checkpoint: nothing signed changes, but ato could not have written most. */
  private tailAppend(files: string[]): void {
    if (!files.includes(ACTIVE)) return this.note("tail-append", `${ACTIVE} is not a regular file`, false); // opening a FIFO to write would block
    const line = this.pick(['{"a":1}', "not json", encodeRecord({ v: 1, seq: 99_999, ts: "2030-01-01T00:00:00.000Z", kind: "flow", class: "internal", data: {} }), "x".repeat(2 << 20)]);
    appendFileSync(join(this.dir, ACTIVE), `${line}\n`);
    this.note("tail-append", `${line.length} bytes after the last line`, false);
  }
}
