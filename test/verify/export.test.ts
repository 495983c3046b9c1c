/**
 * --export-proof: the files it writes are checked by OpenSSL alone (the checkpoint
 * signature) and by coreutils alone (the inclusion proof, via verify-inclusion.sh), for
 * records in the first segment and in later ones. Real SoftHSM key, real OpenSSL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashFromHex, hashLeaf, verifyInclusion } from "../../src/tree/index.ts";
import { closeLogs, flow, hsm, openLog, removeDir, runVerify, tempDir, type Hsm } from "../log/_helpers.ts";

let h: Hsm;
let dir: string;
const outs: string[] = [];

beforeAll(async () => {
  h = await hsm("ed25519");
  dir = tempDir();
  const log = openLog(dir, h, { checkpointEvery: 7, rotateLines: 30 });
  for (let i = 0; i < 80; i++) log.appendRecord("flow", flow(i));
  log.appendRecord("agent", { event: "stopping" });
  log.close();
});

afterAll(() => {
  closeLogs();
  for (const d of [dir, ...outs]) if (d) removeDir(d);
  h?.cleanup();
});

function exportSeq(seq: number) {
  const out = tempDir("ato-proof-");
  outs.push(out);
  return { out, v: runVerify([dir, "--pubkey", h.pubkeyPath, "--export-proof", String(seq), "--out", out]) };
}

describe("--export-proof", () => {
  for (const seq of [0, 5, 29, 47, 71]) {
    test(`seq ${seq}: OpenSSL verifies the checkpoint, sha256sum recomputes the inclusion proof`, () => {
      const { out, v } = exportSeq(seq);
      expect(v.code).toBe(0);
      const record = readFileSync(join(out, "record.json"), "utf8");
      expect(JSON.parse(record).seq).toBe(seq);

      const sig = Bun.spawnSync(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", join(out, "pubkey.pem"), "-rawin", "-in", join(out, "checkpoint.txt"), "-sigfile", join(out, "checkpoint.sig")]);
      expect(sig.stdout.toString()).toContain("Signature Verified Successfully");
      expect(v.json.export.commands.signature).toContain("openssl pkeyutl -verify -pubin");

      const incl = Bun.spawnSync(["bash", join(out, "verify-inclusion.sh")]);
      expect(incl.stdout.toString()).toContain("inclusion OK");
      expect(incl.exitCode).toBe(0);

      const p = JSON.parse(readFileSync(join(out, "proof.json"), "utf8"));
      verifyInclusion(p.leaf_index, p.tree_size, hashLeaf(Buffer.from(record)), p.proof.map(hashFromHex), hashFromHex(p.root));
      expect(readFileSync(join(out, "checkpoint.txt"), "utf8").split("\n")[1]).toBe(String(p.tree_size));
    });
  }

  test("a changed record fails the shell check, and a changed checkpoint fails OpenSSL", () => {
    const { out } = exportSeq(12);
    writeFileSync(join(out, "record.json"), readFileSync(join(out, "record.json"), "utf8").replace('"proto":6', '"proto":7'));
    const incl = Bun.spawnSync(["bash", join(out, "verify-inclusion.sh")]);
    expect(incl.exitCode).toBe(1);
    expect(incl.stderr.toString()).toContain("inclusion FAILED");
    writeFileSync(join(out, "checkpoint.txt"), readFileSync(join(out, "checkpoint.txt"), "utf8").replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`));
    const sig = Bun.spawnSync(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", join(out, "pubkey.pem"), "-rawin", "-in", join(out, "checkpoint.txt"), "-sigfile", join(out, "checkpoint.sig")]);
    expect(sig.exitCode).not.toBe(0);
  });

  test("the exported signed note serves as --trusted-checkpoint", () => {
    const { out } = exportSeq(20);
    const v = runVerify([dir, "--pubkey", h.pubkeyPath, "--trusted-checkpoint", join(out, "checkpoint.note")]);
    expect(v.code).toBe(0);
    expect(v.json.trusted_checkpoint.status).toBe("consistent");
  });

  test("a seq beyond the log is a usage error (64)", () => {
    expect(exportSeq(100_000).v.code).toBe(64);
  });

  test("a seq no signed checkpoint covers yet → exit 2, the report still printed", () => {
    const d = tempDir();
    outs.push(d);
    const log = openLog(d, h, { checkpointEvery: 5 });
    for (let i = 0; i < 7; i++) log.appendRecord("flow", flow(i));
    const out = tempDir("ato-proof-");
    outs.push(out);
    const v = runVerify([d, "--pubkey", h.pubkeyPath, "--export-proof", "6", "--out", out]);
    log.close();
    expect(v.code).toBe(2);
    expect(v.json.result).toBe("verified");
    expect(v.stderr).toContain("no checkpoint with a good signature covers seq 6");
  });
});
