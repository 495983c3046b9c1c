/**
 * One agent per pin directory and per interface. The lock is an flock on a file under
 * /run/ato: the kernel drops it when the process dies, so a crashed agent never blocks
 * the next one, while a live one is named in the refusal.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { tryLockExclusive } from "../../ffi/libc.ts";
import { settingFromEnv } from "../config/index.ts";

/** ATO_RUN_DIR, read through the settings resolver (src/config/table.ts holds its default). */
const LOCK_DIR = settingFromEnv("runDir")!;

export class AgentLock {
  private constructor(private readonly fds: number[]) {}

  /** Takes every named lock or none; `what` are descriptions like "interface eth0". */
  static acquire(resources: { key: string; what: string }[]): AgentLock {
    const fds: number[] = [];
    for (const r of resources) {
      const path = `${LOCK_DIR}/${r.key.replace(/[^\w.-]/g, "_")}.lock`;
      const fd = openLock(path, fds);
      if (!tryLockExclusive(fd)) {
        const holder = readFileSync(path, "utf8").trim() || "another process";
        closeSync(fd);
        fds.forEach((f) => closeSync(f));
        throw new AtoError(`another ato agent (${holder}) is already running on ${r.what}`, "BUSY");
      }
      writeFileSync(path, `pid ${process.pid}`);
      fds.push(fd);
    }
    return new AgentLock(fds);
  }

  release(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}

/** An unprivileged agent (the systemd unit's user) needs a run directory of its own: say so, not a stack trace. */
function openLock(path: string, held: number[]): number {
  try {
    mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 });
    return openSync(path, "a+", 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw e;
    held.forEach((f) => closeSync(f));
    throw new AtoError(
      `cannot create the agent's lock file ${path} (${code}): give this user a writable run directory with ATO_RUN_DIR (systemd: RuntimeDirectory=ato)`,
      "PERMISSION", { cause: e },
    );
  }
}
