/**
 * The hash cache trusts (dev, inode, mtime, size) only together with the path and the inode's ctime, which the
 * kernel sets on every change and no system call sets back. These tests change files the way an attacker
 * hiding a change would (same size, mtime restored) and reuse inode numbers, and check no stale hash comes out.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HashCache } from "../../src/attest/index.ts";

const dir = mkdtempSync("/tmp/ato-attest-cache-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** Copies atime and mtime to the nanosecond (utimes() from JavaScript keeps only milliseconds). */
const copyTimes = (from: string, to: string) => expect(Bun.spawnSync(["touch", "-r", from, to]).exitCode).toBe(0);

describe("HashCache", () => {
  test("an unchanged file is answered from the cache, not read again", () => {
    const p = join(dir, "same");
    writeFileSync(p, "unchanged\n");
    const c = new HashCache();
    expect(c.sha256(p)).toBe(sha("unchanged\n"));
    expect(c.sha256(p)).toBe(sha("unchanged\n"));
    expect({ hashed: c.hashed, hits: c.hits }).toEqual({ hashed: 1, hits: 1 });
  });

  test("content rewritten with the same size and the mtime put back is caught by ctime", async () => {
    const p = join(dir, "restored");
    writeFileSync(p, "listen 80;\n");
    const c = new HashCache();
    expect(c.sha256(p)).toBe(sha("listen 80;\n"));
    const before = statSync(p, { bigint: true });
    copyTimes(p, join(dir, "restored.times"));
    await Bun.sleep(5); // a ctime the clock can tell apart
    writeFileSync(p, "listen 81;\n");
    copyTimes(join(dir, "restored.times"), p);
    const after = statSync(p, { bigint: true });
    expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]); // what a (dev, inode, mtime, size) cache alone would see
    expect(after.ctimeNs).not.toBe(before.ctimeNs);
    expect(c.sha256(p)).toBe(sha("listen 81;\n"));
    expect(c.hashed).toBe(2);
  });

  test("a different file on a reused inode, with the same size and mtime, gets its own hash", async () => {
    const c = new HashCache();
    let reused = 0;
    for (let i = 0; i < 20; i++) {
      const a = join(dir, `a${i}`);
      writeFileSync(a, `content A ${i}\n`);
      expect(c.sha256(a)).toBe(sha(`content A ${i}\n`));
      const old = statSync(a, { bigint: true });
      const times = join(dir, `t${i}`);
      writeFileSync(times, "");
      copyTimes(a, times);
      unlinkSync(a);
      await Bun.sleep(2);
      const b = join(dir, `b${i}`);
      writeFileSync(b, `content B ${i}\n`);
      copyTimes(times, b);
      const nb = statSync(b, { bigint: true });
      expect([nb.size, nb.mtimeNs]).toEqual([old.size, old.mtimeNs]);
      if (nb.ino === old.ino) reused++;
      expect(c.sha256(b)).toBe(sha(`content B ${i}\n`));
      // the same path, too: b renamed onto a's name
      renameSync(b, a);
      copyTimes(times, a);
      expect(c.sha256(a)).toBe(sha(`content B ${i}\n`));
      unlinkSync(a);
    }
    expect(reused).toBeGreaterThan(0); // the case was really met: the filesystem handed a freed inode number out again
  });

  test("fresh: true always reads", () => {
    const p = join(dir, "fresh");
    writeFileSync(p, "x");
    const c = new HashCache();
    c.sha256(p);
    c.sha256(p, { fresh: true });
    expect(c.hashed).toBe(2);
  });
});
