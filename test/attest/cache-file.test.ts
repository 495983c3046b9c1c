/**
 * The hash cache kept across operations (<audit>/attest/hash-cache.json, signed by the token's key): a second
 * `ato attest run` reads no unchanged file again, still catches the one changed between the two operations
 * (same size, mtime put back), and a cache file that was edited, unsigned or re-signed by another key is
 * ignored whole with one line, never trusted in part.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { atoIn } from "../support/agent.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";

let token: TestToken;
let tmp: string;
let auditDir: string;
let watched: string;
let env: Record<string, string>;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const cacheFile = () => join(auditDir, "attest", "hash-cache.json");

beforeAll(async () => {
  token = await createToken({ keyType: "ed25519" });
  tmp = mkdtempSync("/tmp/ato-attest-cachefile-");
  auditDir = join(tmp, "audit");
  watched = join(tmp, "etc");
  mkdirSync(watched);
  for (const n of ["a.conf", "b.conf", "c.conf"]) writeFileSync(join(watched, n), `${n} v1\n`);
  env = { ...token.env, ATO_AUDIT_DIR: auditDir };
});
afterAll(() => {
  token?.cleanup();
  Bun.spawnSync(["chattr", "-R", "-a", tmp], { stderr: "ignore" }); // the evidence log's segments are append-only
  rmSync(tmp, { recursive: true, force: true });
});

function op(name: string) {
  const r = atoIn(null, ["attest", "run", "--name", name, "--watch", watched, "--", "true"], env);
  expect(r.code).toBe(0);
  const events = readFileSync(join(auditDir, "attest", `attest-${r.stdout.trim()}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  return { stderr: r.stderr, before: events.find((e) => e.event === "watch_before"), after: events.find((e) => e.event === "watch_after"), events };
}

describe("the hash cache across operations", () => {
  test("the first operation reads every file and saves a signed cache", () => {
    const o = op("first");
    expect(o.before).toMatchObject({ files: 3, hashed: 3, files_read: 3, cache_hits: 0 });
    expect(readFileSync(cacheFile(), "utf8")).toContain(join(watched, "a.conf"));
    expect(readFileSync(`${cacheFile()}.sig`).length).toBe(64);
  });

  test("a second operation rehashes no unchanged file, and catches the one changed with its size and mtime kept", async () => {
    const p = join(watched, "b.conf");
    Bun.spawnSync(["touch", "-r", p, join(tmp, "times")]);
    await Bun.sleep(5);
    writeFileSync(p, "b.conf v2\n"); // same size
    expect(Bun.spawnSync(["touch", "-r", join(tmp, "times"), p]).exitCode).toBe(0);
    const o = op("second");
    expect(o.stderr).not.toContain("hash cache");
    expect(o.before).toMatchObject({ hashed: 3, files_read: 1, cache_hits: 2 }); // only b.conf, whose ctime moved
    expect(o.after).toMatchObject({ files_read: 0, cache_hits: 3 });
    const third = op("third");
    expect(third.before).toMatchObject({ files_read: 0, cache_hits: 3 });
    // the hash the second operation used for b.conf is the new content's, not the cached v1
    expect(readFileSync(cacheFile(), "utf8")).toContain(sha("b.conf v2\n"));
    expect(readFileSync(cacheFile(), "utf8")).not.toContain(sha("b.conf v1\n"));
  });

  test("a cache file edited to vouch for changed content is ignored whole, with one line", () => {
    const p = join(watched, "c.conf");
    writeFileSync(p, "c.conf EV\n");
    // An attacker puts the old hash beside the file's new stat: without the signature, the next "before" would lie.
    const text = readFileSync(cacheFile(), "utf8").replace(sha("c.conf v1\n"), sha("c.conf v9\n"));
    writeFileSync(cacheFile(), text);
    const o = op("after forgery");
    expect(o.stderr).toContain("hash cache");
    expect(o.stderr).toContain("its signature does not match the token's key");
    expect(o.before).toMatchObject({ files_read: 3, cache_hits: 0 });
    // and the operation re-saved a good one
    expect(op("after resave").before).toMatchObject({ files_read: 0, cache_hits: 3 });
  });

  test("a cache file that is not JSON or has no signature is ignored, never an error", () => {
    writeFileSync(cacheFile(), "{not json");
    expect(op("garbage").before).toMatchObject({ files_read: 3 });
    rmSync(`${cacheFile()}.sig`);
    const o = op("no signature");
    expect(o.stderr).toContain("cannot read it or its signature");
    expect(o.before).toMatchObject({ files_read: 3 });
  });
});
