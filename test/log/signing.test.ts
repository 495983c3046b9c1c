/**
 * The writer trusts no signature its token returns before checking it with the token's public
 * key: a signature that does not verify with the key the signer reports makes a failed
 * checkpoint (the reason in the line, the records counted unverified), never a good one; and
 * after the signer is replaced, signatures are checked with the new key, not the one parsed
 * for the old. Real SoftHSM keys, one token with two key pairs; the signed checkpoints are
 * checked by `ato verify` and by OpenSSL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { parseRecord, parseSignedNote } from "../../src/evidence/index.ts";
import { openSigner, spkiToPem, type CheckpointSigner } from "../../src/signer/index.ts";
import { opensslVerify } from "../signer/_openssl.ts";
import { closeLogs, flow, hsm, openLog, readLines, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

const OTHER = "ato-other-ed25519";
let h: Hsm;
let dir: string | undefined;
let otherPem: string;
const other = () => openSigner({ modulePath: h.token.modulePath, tokenLabel: h.token.tokenLabel, pin: h.token.pin, keyLabel: OTHER });

beforeAll(async () => {
  h = await hsm("ed25519");
  // A second key pair on the same token, made before any signer of this process opens it.
  const gen = Bun.spawnSync(["pkcs11-tool", "--module", h.token.modulePath, "--token-label", h.token.tokenLabel, "--login", "--pin", h.token.pin, "--keypairgen", "--key-type", "EC:edwards25519", "--label", OTHER, "--id", "0badc0de"], { env: { ...process.env, ...h.token.env }, stdout: "pipe", stderr: "pipe" });
  if (gen.exitCode !== 0) throw new Error(`pkcs11-tool: ${gen.stderr}`);
  const s = other();
  otherPem = join(h.token.dir, "other.pem");
  writeFileSync(otherPem, spkiToPem(s.publicKeySpkiDer()));
  s.close();
});
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  if (dir) removeDir(dir);
  dir = undefined;
});

const checkpoints = (d: string) => readLines(join(d, "signed_evidence.log")).map(parseRecord).filter((r) => r.kind === "checkpoint").map((r) => r.data as Record<string, any>);

describe("the writer's check of the token's signatures", () => {
  test("a signature that does not verify with the key the signer reports is refused: failed checkpoints, records unverified", () => {
    dir = tempDir();
    // The token's key changed under an open signer: it signs with one key pair and still reports the other's public key.
    const signs = h.open(), reports = other();
    const lying: CheckpointSigner = {
      algorithm: signs.algorithm, keyLabel: signs.keyLabel, tokenLabel: signs.tokenLabel,
      publicKeySpkiDer: () => reports.publicKeySpkiDer(),
      sign: (m) => signs.sign(m),
      close: () => { signs.close(); reports.close(); },
    };
    const log = openLog(dir, null, { signer: lying, checkpointEvery: 5 });
    expect(log.lentSigner()).toBe(lying); // not yet caught: it has not signed
    for (let i = 0; i < 12; i++) log.appendRecord("flow", flow(i));
    expect(log.lentSigner()).toBeUndefined(); // a signer whose signatures do not verify is lent to nobody (the stop's bundle opens its own)
    const c = log.counters();
    expect(c.checkpoints).toEqual({ ok: 0, failed: 2 });
    expect(c.unverified.flow).toBe(9);
    expect(c.hsmErrors).toBe(0); // the token answered; its answer was wrong
    expect(log.latestCheckpoint()).toBeUndefined();
    log.close();
    const cps = checkpoints(dir);
    expect(cps.map((d) => d.signature_status)).toEqual(["failed", "failed", "failed"]);
    for (const d of cps) {
      expect(d.signature_error).toBe(`the token's signature does not verify with its public key '${h.token.keyLabel}'`);
      expect(d.signature).toBe("");
      expect(d.note).toBe(`${d.origin}\n${d.tree_size}\n${d.root}\n`);
    }
    const v = runVerify([dir, "--pubkey", otherPem]);
    expect(v.code).toBe(2);
    expect(v.json.total.checkpoints).toEqual({ ok: 0, failed: 3 });
  });

  test("after setSigner, signatures are checked with the new key: good checkpoints that ato verify and OpenSSL accept", () => {
    dir = tempDir();
    const log = openLog(dir, h, { checkpointEvery: 5 });
    for (let i = 0; i < 6; i++) log.appendRecord("flow", flow(i));
    log.setSigner(other());
    for (let i = 6; i < 16; i++) log.appendRecord("flow", flow(i));
    expect(log.counters().checkpoints).toEqual({ ok: 3, failed: 0 });
    log.close();
    const cps = checkpoints(dir);
    expect(cps.map((d) => d.signature_status)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(new Set(cps.map((d) => d.key_id)).size).toBe(2);
    expect(cps[0]!.key_name).toBe(cps.at(-1)!.key_name); // the log's key name; the key ID tells the keys apart
    for (const [i, d] of cps.entries()) {
      const { text, signatures } = parseSignedNote(d.note);
      expect(opensslVerify("ed25519", i === 0 ? h.pubkeyPath : otherPem, new TextEncoder().encode(text), signatures[0]!.signature, h.token.dir).ok).toBe(true);
    }
    expect(runVerify([dir, "--pubkey", `${h.pubkeyPath},${otherPem}`]).code).toBe(0);
  });
});
