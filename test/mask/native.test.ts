/**
 * Where ffi/native.ts finds a library: ATO_LIB_DIR, the copy embedded in a compiled binary (extracted to a
 * private directory named by its hash), or a clear FFI error. The embedded case is tested on a real
 * `bun build --compile` binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { locateLibrary } from "../../ffi/native.ts";
import { thrownAtoError } from "../support/errors.ts";

const root = resolve(import.meta.dir, "../..");
const built = join(root, "dist/lib/libatomask.so");
const work = mkdtempSync(join(tmpdir(), "ato-native-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("locateLibrary", () => {
  test("ATO_LIB_DIR wins over the bundled copy", () => {
    const dir = join(work, "override");
    mkdirSync(dir);
    copyFileSync(built, join(dir, "libatomask.so"));
    expect(locateLibrary("libatomask.so", built, { ATO_LIB_DIR: dir })).toBe(join(dir, "libatomask.so"));
  });

  test("ATO_LIB_DIR without the library is an FFI error naming both and the build command", () => {
    const e = thrownAtoError(() => locateLibrary("libatomask.so", built, { ATO_LIB_DIR: work }));
    expect(e.code).toBe("FFI");
    expect(e.message).toContain(`ATO_LIB_DIR=${work}`);
    expect(e.message).toContain("libatomask.so");
    expect(e.message).toContain("bash scripts/build.sh");
  });

  test("from source, the bundled path is the file in dist/lib", () => {
    expect(locateLibrary("libatomask.so", built, {})).toBe(built);
  });

  test("a missing library is an FFI error naming what was looked for and how to build it", () => {
    const missing = join(work, "nope/libfoo.so");
    const e = thrownAtoError(() => locateLibrary("libfoo.so", missing, {}));
    expect(e.code).toBe("FFI");
    expect(e.message).toContain("libfoo.so");
    expect(e.message).toContain(missing);
    expect(e.message).toContain("ATO_LIB_DIR");
    expect(e.message).toContain("bash scripts/build.sh");
  });
});

describe("a compiled binary", () => {
  const binary = join(work, "probe");
  const digest = createHash("sha256").update(readFileSync(built)).digest("hex");
  const uid = process.getuid?.() ?? 0;

  beforeAll(() => {
    const out = Bun.spawnSync(["bun", "build", "--compile", join(import.meta.dir, "_compiled-entry.ts"), "--outfile", binary], { cwd: root });
    if (out.exitCode !== 0) throw new Error(`bun build --compile failed: ${out.stderr.toString()}`);
  });

  function runIn(tmp: string): { code: number; out: Record<string, unknown> } {
    const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp };
    delete env.ATO_LIB_DIR;
    const p = Bun.spawnSync([binary], { cwd: tmp, env });
    return { code: p.exitCode, out: JSON.parse(p.stdout.toString()) };
  }

  test("extracts the embedded library to a private, hash-named directory and masks with it", () => {
    const tmp = mkdtempSync(join(work, "t-"));
    const { code, out } = runIn(tmp);
    const dir = join(tmp, `ato-lib-${uid}-${digest.slice(0, 16)}`);
    expect(code).toBe(0);
    expect(out).toEqual({ file: join(dir, "libatomask.so"), path: expect.stringMatching(/^(sse2|avx2)$/), masked: [198, 18, 1, 0] });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, "libatomask.so"))).toEqual(readFileSync(built));
  });

  test("reuses an intact copy and replaces a changed one", () => {
    const tmp = mkdtempSync(join(work, "t-"));
    const file = runIn(tmp).out.file as string;
    const first = statSync(file).mtimeMs;
    expect(runIn(tmp).out.file).toBe(file);
    expect(statSync(file).mtimeMs).toBe(first);
    chmodSync(file, 0o600);
    writeFileSync(file, "not the library");
    expect(runIn(tmp).code).toBe(0);
    expect(readFileSync(file)).toEqual(readFileSync(built));
  });

  test("refuses a directory that others can write, instead of loading from it", () => {
    const tmp = mkdtempSync(join(work, "t-"));
    const dir = join(tmp, `ato-lib-${uid}-${digest.slice(0, 16)}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const { code, out } = runIn(tmp);
    expect(code).toBe(1);
    expect(out.code).toBe("FFI");
    expect(out.message).toContain(dir);
    expect(out.message).toContain("0700");
  });
});
