/**
 * The stop's attestation bundle is signed through the evidence log's own session on the token while the log
 * holds a working signer (no second C_OpenSession and C_Login at the stop), which stays open and the log's: the
 * final checkpoint after the bundle still signs with it. When the log has lost its signer (the token went away
 * and no checkpoint has reopened it) or holds none, the bundle opens a session of its own, as before, and closes
 * it. Real SoftHSM; the bundle's signature is checked by OpenSSL.
 */
import { afterEach, beforeAll, afterAll, describe, expect, test } from "bun:test";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { bundleSigner } from "../../src/attest/agent-operation.ts";
import { writeBundle } from "../../src/attest/bundle.ts";
import { Operation } from "../../src/attest/operation.ts";
import { opensslVerify } from "../signer/_openssl.ts";
import { closeLogs, flow, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";

let h: Hsm;
let dir: string | undefined;
const key = () => ({ modulePath: h.token.modulePath, tokenLabel: h.token.tokenLabel, keyLabel: h.token.keyLabel, pin: h.token.pin });

beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(() => h?.cleanup());
afterEach(() => {
  closeLogs();
  if (dir) removeDir(dir);
  dir = undefined;
});

/** A bundle of a small operation signed with `signer`; returns its JSONL bytes, signature and status. */
function bundle(d: string, signer: ReturnType<typeof bundleSigner>) {
  const op = Operation.begin("stop test", "agent", { pid: process.pid });
  op.add("stopping", {});
  const b = writeBundle(op, { dir: join(d, "attest"), signer: signer.signer, signerError: signer.error, outcome: { status: "ok" }, sbom: Buffer.from("{}\n") });
  return { b, jsonl: readFileSync(b.files.jsonl), sig: b.signatureStatus === "ok" ? readFileSync(b.files.sig) : undefined };
}

describe("the stop's bundle signer", () => {
  test("a log with a working signer lends it: the bundle is signed through the log's session, which the final checkpoint still uses", () => {
    dir = tempDir();
    const logSigner = h.open();
    const log = openLog(dir, null, { signer: logSigner, checkpointEvery: 5 });
    for (let i = 0; i < 7; i++) log.appendRecord("flow", flow(i));
    const s = bundleSigner(log, key());
    expect(s.signer).toBe(logSigner); // no session of its own
    const { b, jsonl, sig } = bundle(dir, s);
    s.release();
    expect(b.signatureStatus).toBe("ok");
    expect(opensslVerify("ed25519", h.pubkeyPath, jsonl, sig!, dir).ok).toBe(true);
    expect(log.checkpoint("shutdown").status).toBe("ok"); // release left the log's session open
    expect(log.counters().hsmErrors).toBe(0);
    log.close();
    expect(log.lentSigner()).toBeUndefined(); // a closed log lends nothing
  });

  test("after the token went away the log lends none: the bundle opens its own session (failed while the token is gone, signed once it is back)", () => {
    dir = tempDir();
    const tokens = join(h.token.dir, "tokens");
    const log = openLog(dir, h, { checkpointEvery: 5, reopenSigner: h.open });
    for (let i = 0; i < 6; i++) log.appendRecord("flow", flow(i));
    renameSync(tokens, `${tokens}.away`);
    try {
      for (let i = 6; i < 11; i++) log.appendRecord("flow", flow(i)); // a checkpoint finds the token gone
      expect(log.counters().checkpoints.failed).toBe(1);
      expect(log.lentSigner()).toBeUndefined();
      const gone = bundleSigner(log, key());
      expect(gone.signer).toBeNull();
      expect(gone.error).toMatch(/token|slot|PKCS|HSM/i);
      expect(bundle(dir, gone).b.signatureStatus).toBe("failed");
      gone.release();
    } finally {
      renameSync(`${tokens}.away`, tokens);
    }
    // Back, but no checkpoint has reopened the log's signer yet: still a session of the bundle's own, closed by release.
    expect(log.lentSigner()).toBeUndefined();
    const own = bundleSigner(log, key());
    expect(own.signer).not.toBeNull();
    const { b, jsonl, sig } = bundle(dir, own);
    expect(b.signatureStatus).toBe("ok");
    expect(opensslVerify("ed25519", h.pubkeyPath, jsonl, sig!, dir).ok).toBe(true);
    own.release();
    expect(() => own.signer!.sign(new Uint8Array([1]))).toThrow(); // closed: the session was the bundle's
    // The next checkpoint reopens the log's signer; from then on it is lent again.
    for (let i = 11; i < 16; i++) log.appendRecord("flow", flow(i));
    expect(log.latestCheckpoint()?.treeSize).toBeGreaterThan(11);
    expect(log.lentSigner()).toBeDefined();
  });

  test("a log without a signer lends none", () => {
    dir = tempDir();
    const log = openLog(dir, null);
    expect(log.lentSigner()).toBeUndefined();
    const s = bundleSigner(log, key());
    expect(s.signer).not.toBeNull();
    expect(s.signer).not.toBe(log.lentSigner());
    s.release();
  });
});
