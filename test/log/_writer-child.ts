/**
 * A writer for the crash test: appends flow records to the log in argv[2] as fast as it can
 * and reports "<seq> <i>" on stdout (synchronously) after each append has returned, until it
 * is killed. argv[3] "group": group commit, batches through appendBodies (the
 * chunked path the collector's appendTexts shares) and a yield to the event loop now and then, so held checkpoints are written from
 * their sync's callback as well as with the next batch. The signer comes from the environment
 * (PKCS11_*, HSM_*, SOFTHSM2_CONF).
 */
import { writeSync } from "node:fs";
import { canonicalize } from "../../src/evidence/index.ts";
import { EvidenceLog } from "../../src/log/index.ts";
import { openSigner } from "../../src/signer/index.ts";

const group = process.argv[3] === "group";
const log = EvidenceLog.open({ auditDir: process.argv[2]!, signer: openSigner(), checkpointEvery: 64, checkpointIntervalMs: 0, rotateLines: 700, appendOnly: true, groupCommit: group, onWarning: () => {} });
const encoder = new TextEncoder();
for (let i = 0; ; i++) {
  const batch = i % 7 === 0 ? 20 : 1; // some large writes, some small
  const data = (k: number) => ({ i: i * 100 + k, pad: "p".repeat((i * 37) % 400) });
  if (group) {
    const n = Math.min(batch, log.roomBeforeCheckpoint());
    const { seq } = log.appendBodies("flow", n, (k, w) => w.bytes(encoder.encode(canonicalize(data(k)))));
    writeSync(1, Array.from({ length: n }, (_, k) => `${seq + k} ${i * 100 + k}\n`).join(""));
    if (i % 5 === 0) await new Promise((r) => setImmediate(r));
  } else {
    const recs = log.appendRecords("flow", Array.from({ length: batch }, (_, k) => data(k)));
    writeSync(1, recs.map((r, k) => `${r.seq} ${i * 100 + k}\n`).join(""));
  }
}
