/**
 * The HSM goes away mid-run (its token directory is moved off) and comes back: records keep
 * being written, the checkpoints in between say signature_status "failed" and why, the
 * counters count those records as unverified, and the first good checkpoint after the token
 * returns covers them all, so `ato verify` passes. Real SoftHSM, no mock.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { parseRecord } from "../../src/evidence/index.ts";
import { closeLogs, flow, hsm, openLog, readLines, removeDir, runVerify, tempDir, type Hsm } from "./_helpers.ts";

let h: Hsm | undefined;
let dir: string | undefined;
afterEach(() => {
  closeLogs();
  if (dir) removeDir(dir);
  h?.cleanup();
  dir = h = undefined;
});

describe("HSM loss", () => {
  test("checkpoints fail while the token is gone, records are counted unverified, and the next good checkpoint covers them", async () => {
    h = await hsm("ed25519");
    dir = tempDir();
    const tokens = join(h.token.dir, "tokens");
    const log = openLog(dir, h, { checkpointEvery: 10, reopenSigner: h.open });
    for (let i = 0; i < 25; i++) log.appendRecord("flow", flow(i));
    expect(log.counters().checkpoints).toEqual({ ok: 2, failed: 0 });

    renameSync(tokens, `${tokens}.away`);
    for (let i = 25; i < 55; i++) log.appendRecord("flow", flow(i));
    const down = log.counters();
    expect(down.checkpoints).toEqual({ ok: 2, failed: 3 });
    expect(down.unverified.flow).toBe(30);
    expect(down.hsmErrors).toBe(3); // the signing that found the token gone, then a failed reopen at each checkpoint
    expect(down.pending.flow).toBe(36); // the 6 unsigned before the outage and the 30 during it
    expect(log.status().signer).toBe("failed");

    renameSync(`${tokens}.away`, tokens);
    for (let i = 55; i < 65; i++) log.appendRecord("flow", flow(i));
    const up = log.counters();
    expect(up.checkpoints).toEqual({ ok: 3, failed: 3 });
    expect(up.hsmErrors).toBe(3);
    expect(up.verified.flow).toBe(19 + 40);
    expect(up.pending).toEqual({ flow: 6, checkpoint: 1 });
    log.close();

    const cps = readLines(join(dir, "signed_evidence.log")).map(parseRecord).filter((r) => r.kind === "checkpoint");
    const failed = cps.filter((r) => r.data.signature_status === "failed");
    expect(failed).toHaveLength(3);
    for (const f of failed) {
      expect(f.data.signature).toBe("");
      expect(String(f.data.signature_error)).toMatch(/token|module|HSM|PKCS/i);
      expect(String(f.data.note)).toBe(`${f.data.origin}\n${f.data.tree_size}\n${f.data.root}\n`);
    }
    expect(readFileSync(join(dir, "signed_evidence.log"), "utf8")).not.toContain(h.token.pin);

    const v = runVerify([dir, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.total.checkpoints).toEqual({ ok: 4, failed: 3 });
    expect(v.json.total.lines_unsigned).toBe(0);
  });

  test("without any working signer every checkpoint fails and verify reports nothing verified (exit 2)", () => {
    dir = tempDir();
    const log = openLog(dir, null, { checkpointEvery: 5 });
    for (let i = 0; i < 12; i++) log.appendRecord("flow", flow(i));
    expect(log.counters().unverified.flow).toBe(9); // two failed checkpoints so far, after 4 and 5 flows
    expect(log.status().signer).toBe("none");
    expect(log.counters().hsmErrors).toBe(0); // failed checkpoints, but no PKCS#11 operation failed
    log.close();
    const v = runVerify([dir, "--pubkey", join(import.meta.dir, "../fixtures/evidence/other-ed25519.pem")]);
    expect(v.code).toBe(2);
    expect(v.json.summary).toContain("nothing is verified");
  });
});
