/**
 * A writer for the sync-order test: chunks of flow records through appendBodies (the
 * chunked append and checkpoint path the collector's appendTexts shares) into the log in argv[2]: the first half back to back (the next chunk comes
 * while a checkpoint's sync still runs), the second half yielding to the event loop after each
 * chunk (as the collector does). argv[3] "group" turns group commit on. The signer comes from the environment.
 */
import { canonicalize } from "../../src/evidence/index.ts";
import { EvidenceLog } from "../../src/log/index.ts";
import { openSigner } from "../../src/signer/index.ts";

const log = EvidenceLog.open({ auditDir: process.argv[2]!, signer: openSigner(), checkpointEvery: 50, checkpointIntervalMs: 0, appendOnly: false, groupCommit: process.argv[3] === "group", onWarning: () => {} });
const encoder = new TextEncoder();
for (let chunk = 0; chunk < 24; chunk++) {
  const n = Math.min(17 + (chunk % 3) * 9, log.roomBeforeCheckpoint());
  log.appendBodies("flow", n, (i, w) => w.bytes(encoder.encode(canonicalize({ chunk, i, pad: "p".repeat(200 * (i % 5)) }))));
  if (chunk >= 12) await new Promise((r) => setImmediate(r));
}
log.checkpoint("manual");
log.close();
