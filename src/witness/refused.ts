/**
 * Requests a witness refused although the log's own key signed them (a conflicting root at
 * the same size, a proof that does not verify): possible proof of a log that forked, kept
 * under <state>/refused/ as the bytes received (c2sp.org/tlog-witness allows this). Only
 * requests the log's key signed get here, and at most MAX_KEPT files are kept, so nobody else
 * can fill the disk with them.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hex, sha256 } from "../tree/index.ts";

export const MAX_KEPT = 1000;

export class RefusedRequests {
  private count: number;

  constructor(private readonly dir: string, private readonly onLog: (m: string) => void = () => {}) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.count = readdirSync(dir).length;
  }

  keep(origin: string, status: number, body: string): void {
    if (this.count >= MAX_KEPT) return;
    const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${hex(sha256(new TextEncoder().encode(origin))).slice(0, 16)}-${status}.txt`;
    try {
      writeFileSync(join(this.dir, name), body, { mode: 0o600, flag: "wx" });
      this.count++;
    } catch (e) {
      this.onLog(`cannot keep the refused request ${name}: ${(e as Error).message}`);
    }
  }
}
