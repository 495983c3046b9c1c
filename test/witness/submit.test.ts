/**
 * [hsm] The submitter on a real evidence log (SoftHSM signer, segments rotating every few
 * lines) and two real witness servers on loopback: every checkpoint reaches both, their
 * cosignatures land in the log as `cosignature` lines that verify, the proofs follow the log
 * across rotations, and a witness that forgot nothing but the agent's cache (409) is caught up.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { parseSignedNote, type CosignatureData } from "../../src/evidence/index.ts";
import { spkiToPem } from "../../src/signer/index.ts";
import { Witness, WitnessState, initWitness, parseLogSpec, parseVerifierKey, serveWitness, verifyCosignature, witnessMetrics, type WitnessServer } from "../../src/witness/index.ts";
import { Submitter, parseWitnessTarget } from "../../src/witness/submit/index.ts";
import { PROGRESS_FILE } from "../../src/witness/submit/progress.ts";
import { closeLogs, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";
import { writeFileSync } from "node:fs";

let h: Hsm;
const dir = tempDir("ato-witness-submit-");
const servers: WitnessServer[] = [];
const vkeys: string[] = [];

beforeAll(async () => {
  h = await hsm("ed25519");
});
afterAll(async () => {
  closeLogs();
  for (const s of servers) await s.stop();
  h?.cleanup();
  removeDir(dir);
});

async function startWitness(name: string, origin: string, pem: string): Promise<string> {
  const state = join(dir, name);
  const key = initWitness(state, `witness.test/${name}`);
  const st = WitnessState.open(state);
  const logs = parseLogSpec(`${origin}=${pem}`);
  const server = serveWitness(new Witness(key, logs, st), witnessMetrics(() => 1, () => st.size), "127.0.0.1:0");
  servers.push(server);
  vkeys.push(key.vkey);
  return `${server.url}=${key.vkey}`;
}

test("every checkpoint of a rotating log is cosigned by both witnesses, and the cosignature lines verify", async () => {
  const audit = join(dir, "audit");
  let submitter: Submitter | undefined;
  const log = openLog(audit, h, { rotateLines: 7, origin: "ato/testhost/submit", onCheckpoint: (c) => submitter?.onCheckpoint(c) });
  const pem = join(dir, "log.pem");
  writeFileSync(pem, spkiToPem(h.open().publicKeySpkiDer()));
  const targets = [await startWitness("a", "ato/testhost/submit", pem), await startWitness("b", "ato/testhost/submit", pem)].map(parseWitnessTarget);
  submitter = new Submitter({ auditDir: audit, witnesses: targets, registry: new Registry(), append: (k, d) => log.appendRecord(k, d as unknown as Record<string, unknown>), warn: () => {} });
  const checkpoints: { seq: number; note: string }[] = [];
  for (let round = 0; round < 6; round++) {
    log.appendRecords("flow", Array.from({ length: 3 + round }, (_, i) => ({ round, i })));
    const cp = log.checkpoint("manual");
    checkpoints.push({ seq: cp.seq, note: cp.note });
    expect(await submitter.drain(10_000)).toBe(true);
  }
  submitter.stop();
  log.close();
  expect(readdirSync(audit).filter((f) => /^signed_evidence\.\d+\.log$/.test(f)).length).toBeGreaterThan(3);
  const lines = readdirSync(audit).filter((f) => f.endsWith(".log")).sort((a, b) => (a === "signed_evidence.log" ? 1 : b === "signed_evidence.log" ? -1 : a.localeCompare(b)))
    .flatMap((f) => readFileSync(join(audit, f), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)));
  const cosigs = lines.filter((l) => l.kind === "cosignature").map((l) => l.data as CosignatureData);
  for (const cp of checkpoints) {
    const text = parseSignedNote(cp.note).text;
    for (const vk of vkeys.map(parseVerifierKey)) {
      const c = cosigs.find((x) => x.checkpoint_seq === cp.seq && x.witness === vk.name);
      expect(c).toBeDefined();
      const sig = parseSignedNote(`${text}\n${c!.signature}\n`).signatures[0]!;
      expect(verifyCosignature(vk, text, sig).ok).toBe(true);
    }
  }
  expect(lines.some((l) => l.kind === "witness_refusal")).toBe(false);
  const progress = JSON.parse(readFileSync(join(audit, PROGRESS_FILE), "utf8"));
  expect(Object.values(progress.witnesses).map((p: any) => p.size)).toEqual([checkpoints.at(-1)!.seq, checkpoints.at(-1)!.seq]);
});

test("a lost progress file: the witnesses answer 409 with their size and the agent catches up from it", async () => {
  const audit = join(dir, "audit");
  rmSync(join(audit, PROGRESS_FILE));
  let submitter: Submitter | undefined;
  const log = openLog(audit, h, { rotateLines: 7, onCheckpoint: (c) => submitter?.onCheckpoint(c) });
  const targets = servers.map((s, i) => parseWitnessTarget(`${s.url}=${vkeys[i]}`));
  submitter = new Submitter({ auditDir: audit, witnesses: targets, registry: new Registry(), append: (k, d) => log.appendRecord(k, d as unknown as Record<string, unknown>), warn: () => {} });
  log.appendRecords("flow", [{ again: 1 }]);
  const cp = log.checkpoint("manual");
  expect(await submitter.drain(10_000)).toBe(true);
  submitter.stop();
  log.close();
  const progress = JSON.parse(readFileSync(join(audit, PROGRESS_FILE), "utf8"));
  expect(Object.values(progress.witnesses).map((p: any) => p.size)).toEqual([cp.treeSize, cp.treeSize]);
});
