/**
 * What the agent knows of each witness: the size and root it last cosigned for this log, kept
 * in <audit dir>/witnesses.json (replaced by rename, not synced) so a restarted agent sends the
 * right old size at once. It is a cache: a witness's 409 answer corrects it, so it is not worth
 * an fsync per cosignature.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../errors.ts";
import { replaceFile } from "../atomic.ts";

export const PROGRESS_FILE = "witnesses.json";

export interface Progress {
  size: number;
  root: string | null;
}

export class WitnessProgress {
  private readonly byVkey: Record<string, Progress>;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, private readonly onWarning: (m: string) => void) {
    this.byVkey = this.load();
  }

  get(vkey: string): Progress {
    return this.byVkey[vkey] ?? { size: 0, root: null };
  }

  /** Updates at once; the file follows on the thread pool, writes in order, so the agent's loop never waits on an fsync. */
  set(vkey: string, p: Progress): void {
    this.byVkey[vkey] = p;
    const text = `${JSON.stringify({ v: 1, witnesses: this.byVkey })}\n`;
    this.saving = this.saving.then(() => replaceFile(join(this.dir, PROGRESS_FILE), text, 0o640, false)).catch((e) => {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
      this.onWarning(`${e.message} (the witnesses' answers will correct it)`);
    });
  }

  /** Resolves when every write so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  private load(): Record<string, Progress> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, PROGRESS_FILE), "utf8");
    } catch {
      return {};
    }
    try {
      const o = JSON.parse(text);
      if (o?.v === 1 && o.witnesses && typeof o.witnesses === "object") return o.witnesses;
    } catch {
      // fall through: a damaged cache is rebuilt from the witnesses' 409 answers
    }
    this.onWarning(`${PROGRESS_FILE} is unreadable; starting from size 0 for every witness`);
    return {};
  }
}
