/**
 * [hsm] `ato verify --witness` on logs whose witness lines are themselves signed evidence
 * (appended through the real writer, so the first pass finds nothing wrong): a cosignature
 * by a key not given is reported and not counted, one by a given key that does not verify is
 * tampered (exit 1), evidence after the last cosigned checkpoint is incomplete (exit 2)
 * naming the checkpoint and the witness, and bad flags are usage errors.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { parseSignedNote } from "../../src/evidence/index.ts";
import type { EvidenceLog } from "../../src/log/index.ts";
import { spkiToPem } from "../../src/signer/index.ts";
import { Witness, WitnessState, cosign, cosignatureLine, initWitness, parseLogSpec, serveWitness, witnessMetrics, type WitnessKey, type WitnessServer } from "../../src/witness/index.ts";
import { Submitter, parseWitnessTarget } from "../../src/witness/submit/index.ts";
import { ATO_MAIN, closeLogs, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";

const ORIGIN = "ato/testhost/verify";
let h: Hsm;
const dir = tempDir("ato-witness-verify-");
let server: WitnessServer;
let witness: WitnessKey;
let stranger: WitnessKey;
let pem: string;

beforeAll(async () => {
  h = await hsm("ed25519");
  pem = join(dir, "log.pem");
  const s = h.open();
  writeFileSync(pem, spkiToPem(s.publicKeySpkiDer()));
  s.close();
  witness = initWitness(join(dir, "w"), "witness.test/v");
  stranger = initWitness(join(dir, "x"), "witness.test/x");
  const st = WitnessState.open(join(dir, "w"));
  const logs = parseLogSpec(`${ORIGIN}/stranger=${pem}`);
  for (const name of ["forged", "later"]) parseLogSpec(`${ORIGIN}/${name}=${pem}`, logs);
  server = serveWitness(new Witness(witness, logs, st), witnessMetrics(() => 1, () => st.size), "127.0.0.1:0");
}, 60_000);

afterAll(async () => {
  closeLogs();
  await server?.stop();
  witness?.close();
  stranger?.close();
  h?.cleanup();
  removeDir(dir);
});

/** A log with one cosigned checkpoint; `after` appends more lines through the writer before it closes. */
async function cosignedLog(name: string, after: (log: EvidenceLog, cosig: Record<string, unknown>, text: string) => Promise<void>): Promise<string> {
  const audit = join(dir, name);
  let submitter: Submitter | undefined;
  const log = openLog(audit, h, { origin: `${ORIGIN}/${name}`, onCheckpoint: (c) => submitter?.onCheckpoint(c) });
  submitter = new Submitter({ auditDir: audit, witnesses: [parseWitnessTarget(`${server.url}=${witness.vkey}`)], registry: new Registry(), append: (k, d) => log.appendRecord(k, d as unknown as Record<string, unknown>), warn: () => {} });
  log.appendRecords("flow", [{ n: 1 }, { n: 2 }]);
  const cp = log.checkpoint("manual");
  expect(await submitter.drain(10_000)).toBe(true);
  submitter.stop();
  const cosig = readFileSync(join(audit, "signed_evidence.log"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.kind === "cosignature")!.data;
  await after(log, cosig, parseSignedNote(cp.note).text);
  log.close();
  return audit;
}

function verify(audit: string, args: string[]) {
  const r = Bun.spawnSync(["bun", ATO_MAIN, "verify", audit, "--pubkey", pem, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: `${r.stdout}${r.stderr}` };
}

test("a cosignature by a key not given is reported, not counted; the given witness's makes the quorum", async () => {
  const audit = await cosignedLog("stranger", async (log, cosig, text) => {
    log.appendRecord("cosignature", { ...cosig, witness: stranger.name, signature: cosignatureLine(await cosign(stranger, text, 1_800_000_000)).trimEnd() });
  });
  const r = verify(audit, ["--witness", witness.vkey]);
  expect(r.out).toMatch(/a cosignature by 'witness\.test\/x' .*not a witness given: not counted/);
  expect(r.code).toBe(0);
  const both = verify(audit, ["--witness", witness.vkey, "--witness", stranger.vkey]);
  expect(both.code).toBe(0); // the stranger's line verifies once its key is given
  expect(both.out).toMatch(/cosigned by witness\.test\/v, witness\.test\/x/);
});

test("a cosignature by a given witness that does not verify: tampered, exit 1", async () => {
  const audit = await cosignedLog("forged", async (log, cosig, text) => {
    const forged = cosignatureLine(await cosign(stranger, text, 1_800_000_000)).trimEnd().replace(stranger.name, witness.name);
    const keyed = `— ${witness.name} ${Buffer.concat([witness.keyId, Buffer.from(forged.split(" ")[2]!, "base64").subarray(4)]).toString("base64")}`;
    log.appendRecord("cosignature", { ...cosig, signature: keyed });
  });
  const r = verify(audit, ["--witness", witness.vkey]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/the cosignature of witness\.test\/v for the checkpoint of tree size \d+ \(seq \d+\) does not verify/);
});

test("evidence after the cosigned checkpoint: incomplete, exit 2, naming the checkpoint and the witness missing", async () => {
  const audit = await cosignedLog("later", async (log) => {
    log.appendRecord("flow", { n: 3 });
  });
  const r = verify(audit, ["--witness", witness.vkey]);
  expect(r.code).toBe(2);
  expect(r.out).toMatch(/the checkpoint of tree size \d+ \(seq \d+\) has 0 of the 1 cosignatures required; missing: witness\.test\/v/);
});

test("bad flags are usage errors (64)", async () => {
  const audit = join(dir, "later");
  expect(verify(audit, ["--witness", "not-a-key"]).code).toBe(64);
  expect(verify(audit, ["--witness", witness.vkey, "--witness-quorum", "2"]).code).toBe(64);
  expect(verify(audit, ["--witness", "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"]).code).toBe(64); // type 0x01: not a cosigner
});
