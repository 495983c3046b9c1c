/**
 * What the writer has written and what its checkpoints cover, by record kind, for the
 * agent's metrics: ato_verified_flows_total is verified.flow, ato_unverified_flows_total is
 * unverified.flow.
 *
 * A line is "verified" once a checkpoint with a good signature covers it, and "unverified"
 * when the first checkpoint to cover it failed to sign. Both only grow (Prometheus
 * counters). A line first covered by a failed checkpoint and later by a good one counts in
 * both: it was unverified for a while, then verified. `pending` is the gauge of lines no
 * good checkpoint covers yet.
 */
export type KindCounts = Record<string, number>;

export interface EvidenceCounters {
  /** Lines this writer appended, by kind. */
  appended: KindCounts;
  verified: KindCounts;
  unverified: KindCounts;
  pending: KindCounts;
  checkpoints: { ok: number; failed: number };
  /** Bytes this writer appended (the log's size on disk is EvidenceLog.bytesOnDisk()). */
  bytes: number;
  /** Writes, syncs and rotations of the log that failed (full disk, lost directory). */
  writeErrors: number;
  /** PKCS#11 operations that failed (opening a session, logging in, signing, closing); failed checkpoints without a signer are not counted. */
  hsmErrors: number;
  /** Seconds the last signature took (HSM round trip), or undefined before the first. */
  lastSignSeconds: number | undefined;
}

export class Counters {
  private readonly c: EvidenceCounters = { appended: {}, verified: {}, unverified: {}, pending: {}, checkpoints: { ok: 0, failed: 0 }, bytes: 0, writeErrors: 0, hsmErrors: 0, lastSignSeconds: undefined };
  /** Lines since the last checkpoint of either status. */
  private uncheckpointed: KindCounts = {};

  /** Starts from what a previous run left unsigned (found by scanning the log). */
  recover(pending: KindCounts, uncheckpointed: KindCounts): void {
    this.c.pending = { ...pending };
    this.uncheckpointed = { ...uncheckpointed };
  }

  appended(kind: string, lines: number, bytes: number): void {
    add(this.c.appended, kind, lines);
    add(this.c.pending, kind, lines);
    add(this.uncheckpointed, kind, lines);
    this.c.bytes += bytes;
  }

  writeFailed(): void {
    this.c.writeErrors++;
  }

  hsmFailed(): void {
    this.c.hsmErrors++;
  }

  checkpoint(ok: boolean, signSeconds: number | undefined): void {
    if (signSeconds !== undefined) this.c.lastSignSeconds = signSeconds;
    if (ok) {
      this.c.checkpoints.ok++;
      for (const [k, n] of Object.entries(this.c.pending)) add(this.c.verified, k, n);
      this.c.pending = {};
    } else {
      this.c.checkpoints.failed++;
      for (const [k, n] of Object.entries(this.uncheckpointed)) add(this.c.unverified, k, n);
    }
    this.uncheckpointed = {};
  }

  snapshot(): EvidenceCounters {
    return structuredClone(this.c);
  }
}

function add(m: KindCounts, k: string, n: number): void {
  m[k] = (m[k] ?? 0) + n;
}
