/**
 * What is a segment: only regular files are read. Every path handed to (or found by) the real
 * dist/ato is hostile: a FIFO, socket, device or directory under a segment's name is refused
 * with one clear line and exit 64 (never a hang, never a stack trace); two names of one file
 * are reported as an alias, never merged, so an alias cannot hide that a segment is gone;
 * symlink loops, unreadable files and too many files are usage errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, linkSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { distVerify, type DistRun } from "../support/ato-verify.ts";
import { ACTIVE, SEG, signedLog, type Fixture } from "./_fixture.ts";

let fx: Fixture;
let sockets: { stop(): void }[] = [];

beforeAll(async () => {
  fx = await signedLog();
});
afterAll(() => {
  sockets.forEach((s) => s.stop());
  fx?.cleanup();
});

const verify = (paths: string[], extra: string[] = [], o: Parameters<typeof distVerify>[1] = {}) => distVerify([...paths, "--pubkey", fx.h.pubkeyPath, ...extra], { timeoutMs: 20_000, ...o });

/** Exit 64 with one line on stderr naming the path, no stack trace, no hang. */
function refused(r: DistRun, ...words: string[]) {
  expect(r.hung).toBe(false);
  expect(r.code).toBe(64);
  const err = r.stderr.trim().split("\n");
  expect(err.length).toBe(1);
  expect(err[0]).toStartWith("ato: ");
  for (const w of words) expect(err[0]).toContain(w);
}

/** A copy of the log with segment 2 replaced by whatever `make` puts at its path. */
function replaced(make: (path: string) => void): string {
  const d = fx.copy();
  rmSync(join(d, SEG(2)));
  make(join(d, SEG(2)));
  return d;
}

describe("ato verify: only regular files are segments", () => {
  test("a FIFO under a segment's name, in the directory or given: refused, no hang", async () => {
    const d = replaced((p) => Bun.spawnSync(["mkfifo", p]));
    refused(await verify([d]), SEG(2), "is a FIFO");
    refused(await verify([join(d, SEG(2))]), "is a FIFO");
  });

  test("a socket under a segment's name: refused", async () => {
    const d = replaced((p) => sockets.push(Bun.listen({ unix: p, socket: { data() {} } })));
    refused(await verify([d]), SEG(2), "is a socket");
  });

  test("a character device (a symlink to /dev/zero) under a segment's name: refused", async () => {
    const d = replaced((p) => symlinkSync("/dev/zero", p));
    refused(await verify([d]), SEG(2), "is a character device");
  });

  test("a directory under a segment's name: refused", async () => {
    const d = replaced((p) => mkdirSync(p));
    refused(await verify([d]), SEG(2), "is a directory");
  });

  test("the public key or the trusted checkpoint as a FIFO: refused, no hang", async () => {
    const d = fx.scratch();
    Bun.spawnSync(["mkfifo", join(d, "fifo")]);
    refused(await distVerify([fx.base, "--pubkey", join(d, "fifo")], { timeoutMs: 20_000 }), "is a FIFO");
    refused(await verify([fx.base], ["--trusted-checkpoint", join(d, "fifo")]), "is a FIFO");
  });
});

describe("ato verify: one file under two names is an alias, never merged", () => {
  test("the active segment hard-linked to the last rotated one: the newest segment is not silently gone (exit 2)", async () => {
    const d = fx.copy();
    const last = readdirSync(d).filter((n) => n !== ACTIVE).sort().at(-1)!;
    rmSync(join(d, ACTIVE));
    linkSync(join(d, last), join(d, ACTIVE));
    const r = await verify([d]);
    expect(r.code).toBe(2);
    const alias = r.json.findings.find((f: any) => f.message.includes("is the same file as"));
    expect(alias.severity).toBe("incomplete");
    expect([alias.file, alias.message].join(" ")).toContain(ACTIVE);
    expect(alias.message).toContain(last);
  });

  test("a segment replaced by a symlink to another: the alias and the missing segment are both named (exit 2)", async () => {
    const d = replaced((p) => symlinkSync(SEG(1), p));
    const r = await verify([d]);
    expect(r.code).toBe(2);
    expect(r.json.findings.some((f: any) => f.file.endsWith(SEG(2)) && f.message.includes(`same file as ${join(d, SEG(1))}`))).toBe(true);
    expect(r.json.findings.some((f: any) => f.message.includes("segment 2 is missing"))).toBe(true);
    expect(r.json.segments.length).toBe(readdirSync(d).length - 1); // read once
  });

  test("an audit directory given twice: each file read once, every second name reported (exit 2)", async () => {
    const r = await verify([fx.base, fx.base]);
    const files = readdirSync(fx.base).length;
    expect(r.code).toBe(2);
    expect(r.json.segments.length).toBe(files);
    expect(r.json.findings_total.incomplete).toBe(files);
  });

  test("a plain copy is not an alias: it is checked as the duplicate segment it is (exit 1)", async () => {
    const d = fx.copy();
    copyFileSync(join(d, SEG(2)), join(d, "copy.log"));
    expect((await verify([join(d, SEG(1)), join(d, SEG(2)), join(d, "copy.log")])).code).toBe(1);
  });
});

describe("ato verify: paths that cannot be read are usage errors", () => {
  test("a symlink loop, in the directory or given", async () => {
    const d = replaced((p) => symlinkSync(p, p));
    refused(await verify([d]), SEG(2), "symbolic links");
    refused(await verify([join(d, SEG(2))]), "symbolic links");
  });

  test("a file its user cannot read (run as nobody)", async () => {
    const d = fx.copy();
    chmodSync(d, 0o755);
    for (const n of readdirSync(d)) chmodSync(join(d, n), 0o644);
    chmodSync(join(d, SEG(2)), 0o000);
    const key = join(d, "..", `${d.split("/").pop()}.pem`);
    copyFileSync(fx.h.pubkeyPath, key);
    chmodSync(key, 0o644);
    try {
      const r = await distVerify([d, "--pubkey", key], { timeoutMs: 20_000, prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] });
      refused(r, SEG(2), "permission denied");
    } finally {
      rmSync(key, { force: true });
    }
  });

  test("more than 10,000 segment files", async () => {
    const d = fx.scratch();
    for (let i = 1; i <= 10_001; i++) writeFileSync(join(d, SEG(i)), "");
    refused(await verify([d]), "more than 10000 segment files");
  }, 60_000);
});
