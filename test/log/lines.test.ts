/**
 * The one line loop (src/log/lines.ts scanLines): with one buffer, and reading 1 or 2 chunks ahead
 * into separate buffers (as verify's hash worker does), every file gives the same lines in the same
 * order at the same offsets, the same stop, the same over-long line and the same partial tail, at
 * any chunk size, and the lines are the file's own (offsets and text as written); a read error is raised
 * only after the lines before it went out.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { forEachLine, scanLines, oneBuffer, type LineSource } from "../../src/log/lines.ts";
import { tempDir } from "./_helpers.ts";

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A source reading `ahead` chunks ahead into slots of their own, as hash-worker-read.ts's does. */
function aheadSource(read: LineSource["read"], chunk: number, ahead: number, events: string[]): LineSource {
  const bufs: Uint8Array[] = [];
  return {
    read,
    ahead,
    buffer(slot, need) {
      let n = Math.max(bufs[slot]?.length ?? 0, chunk + 1);
      while (n <= need) n *= 2;
      if (bufs[slot]?.length !== n) bufs[slot] = new Uint8Array(n);
      return bufs[slot]!;
    },
    spans: () => new Uint32Array(2 * 3), // little room: most lines are found past the spans
    filled: (c) => {
      expect(c.filled - 1).toBeLessThanOrEqual(200); // no read goes on with a line already over the limit
      events.push(`filled ${c.slot} ${c.before}`);
    },
    reuse: (c) => void events.push(`reuse ${c.slot}`),
  };
}

type Run = { lines: string[]; end: unknown; error?: string };

function run(path: string, src: (read: LineSource["read"]) => LineSource, maxLine: number, stopAt?: number): Run {
  const fd = openSync(path, "r");
  const size = Bun.file(path).size;
  const lines: string[] = [];
  try {
    const read: LineSource["read"] = (buf, at, length, position) => {
      if (position >= 5000 && path.endsWith("eio")) throw new Error("EIO at 5000"); // a disk that fails part-way
      return readSync(fd, buf, at, length, position);
    };
    const end = scanLines(src(read), (buf, start, stop, offset) => {
      expect(buf[start - 1]).toBeDefined(); // the spare byte before every line is in the buffer
      lines.push(`${offset}:${Buffer.from(buf.subarray(start, stop)).toString("latin1")}`);
      return lines.length === stopAt;
    }, { limit: size, maxLine, from: 0 });
    return { lines, end };
  } catch (e) {
    return { lines, end: undefined, error: (e as Error).message };
  } finally {
    closeSync(fd);
  }
}

/** The file, and its whole lines as run() reports them ("offset:text"), up to the over-long one. */
function file(name: string, rand: () => number, longAt?: number): { path: string; lines: string[] } {
  const parts: string[] = [];
  for (let i = 0; i < 400; i++) parts.push(i === longAt ? "L".repeat(300) : "x".repeat(Math.floor(rand() ** 3 * 120)) + String(i));
  const text = parts.join("\n") + (rand() < 0.5 ? "\n" : "\npartial");
  const path = join(dir, name);
  writeFileSync(path, text, "latin1");
  const lines: string[] = [];
  let offset = 0;
  for (const [i, part] of parts.entries()) { // every part ends with a newline; "partial" is the tail, no line
    if (i === longAt) break;
    lines.push(`${offset}:${part}`);
    offset += part.length + 1;
  }
  return { path, lines };
}

describe("scanLines", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`one buffer and read-ahead agree (seed ${seed})`, () => {
      const rand = prng(seed);
      const longAt = seed % 3 === 0 || seed === 5 ? undefined : Math.floor(rand() * 400);
      const suffix = seed === 5 ? "eio" : "txt";
      const { path, lines } = file(`f${seed}.${suffix}`, rand, longAt);
      for (const chunk of [7, 64, 333, 4096]) {
        const stopAt = seed === 4 ? 123 : undefined;
        const want = run(path, (read) => oneBuffer(read, chunk), 200, stopAt);
        // Against the file itself, not only against the other mode: the lines before a stop, an over-long line or a
        // failed read, each at its own offset.
        const truth = stopAt === undefined ? lines : lines.slice(0, stopAt);
        if (seed === 5) expect(truth.slice(0, want.lines.length)).toEqual(want.lines);
        else expect(want.lines).toEqual(truth);
        if (longAt !== undefined) expect((want.end as { tooLong?: number }).tooLong).toBeGreaterThan(0);
        if (seed === 5) expect(want.error).toBe("EIO at 5000");
        for (const ahead of [1, 2]) {
          const events: string[] = [];
          expect(run(path, (read) => aheadSource(read, chunk, ahead, events), 200, stopAt)).toEqual(want);
          expect(events.filter((e) => e.startsWith("reuse")).length).toBeGreaterThan(0);
        }
      }
    });
  }

  test("forEachLine: a line over the limit is CORRUPT at its offset; lines and the partial tail are counted", () => {
    const path = join(dir, "each.txt");
    writeFileSync(path, `a\nbb\n${"c".repeat(50)}\ntail`);
    const fd = openSync(path, "r");
    try {
      const seen: number[] = [];
      expect(forEachLine(fd, 60, (_b, s, e, off) => void seen.push(off, e - s), { chunkSize: 8 })).toEqual({ partialLength: 4, partialOffset: 56, lines: 3 });
      expect(seen).toEqual([0, 1, 2, 2, 5, 50]);
      expect(() => forEachLine(fd, 60, () => {}, { chunkSize: 8, maxLine: 49 })).toThrow("the line at byte 5 is longer than 49 bytes");
      expect(forEachLine(fd, 60, (_b, _s, _e, off) => off === 2, { chunkSize: 8 })).toEqual({ partialLength: 0, partialOffset: 5, lines: 2 });
    } finally {
      closeSync(fd);
    }
  });
});
