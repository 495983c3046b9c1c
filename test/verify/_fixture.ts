/**
 * A signed log for the hostile-input tests (real SoftHSM key, several segments, a checkpoint
 * every 8 lines), and fresh copies of it to damage.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { closeLogs, flow, hsm, openLog, removeDir, tempDir, type Hsm } from "../log/_helpers.ts";

export const ACTIVE = "signed_evidence.log";
export const SEG = (n: number) => `signed_evidence.${String(n).padStart(6, "0")}.log`;

export interface Fixture {
  h: Hsm;
  base: string;
  /** A fresh copy of the base log (removed by cleanup). */
  copy(): string;
  /** A fresh scratch directory (removed by cleanup). */
  scratch(): string;
  cleanup(): void;
}

export async function signedLog(o: { records?: number; checkpointEvery?: number; rotateLines?: number } = {}): Promise<Fixture> {
  const h = await hsm("ed25519");
  const base = tempDir();
  const dirs: string[] = [base];
  const log = openLog(base, h, { checkpointEvery: o.checkpointEvery ?? 8, rotateLines: o.rotateLines ?? 40 });
  for (let i = 0; i < (o.records ?? 150); i++) log.appendRecord("flow", flow(i));
  log.close();
  const scratch = () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
  return {
    h,
    base,
    scratch,
    copy: () => {
      const d = scratch();
      rmSync(d, { recursive: true });
      cpSync(base, d, { recursive: true });
      return d;
    },
    cleanup: () => {
      closeLogs();
      dirs.forEach(removeDir);
      h.cleanup();
    },
  };
}

export const readLog = (path: string) => readFileSync(path, "utf8").split("\n").slice(0, -1);
export const writeLog = (path: string, lines: string[]) => writeFileSync(path, lines.map((l) => `${l}\n`).join(""));

/** 1-based numbers of a file's checkpoint lines. */
export function checkpointLines(path: string): number[] {
  return readLog(path).flatMap((l, i) => (l.includes('"kind":"checkpoint"') ? [i + 1] : []));
}
