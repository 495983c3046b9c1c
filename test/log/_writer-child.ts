/**
 * A writer for the crash test: appends flow records to the log in argv[2] as fast as it can
 * and reports "<seq> <i>" on stdout (synchronously) after each appendRecord has returned,
 * until it is killed. The signer comes from the environment (PKCS11_*, HSM_*, SOFTHSM2_CONF).
 */
import { writeSync } from "node:fs";
import { EvidenceLog } from "../../src/log/index.ts";
import { openSigner } from "../../src/signer/index.ts";

const log = EvidenceLog.open({ auditDir: process.argv[2]!, signer: openSigner(), checkpointEvery: 64, checkpointIntervalMs: 0, rotateLines: 700, appendOnly: true, onWarning: () => {} });
for (let i = 0; ; i++) {
  const batch = i % 7 === 0 ? 20 : 1; // some large writes, some small
  const recs = log.appendRecords("flow", Array.from({ length: batch }, (_, k) => ({ i: i * 100 + k, pad: "p".repeat((i * 37) % 400) })));
  writeSync(1, recs.map((r, k) => `${r.seq} ${i * 100 + k}\n`).join(""));
}
