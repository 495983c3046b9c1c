/**
 * What the agent knows of each witness: the size and root it last cosigned for this log, kept
 * in <audit dir>/witnesses.json (replaced atomically) so a restarted agent sends the right old
 * size at once. It is a cache: a witness's 409 answer corrects it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../../errors.ts";
import { replaceFileSync } from "../atomic.ts";

export const PROGRESS_FILE = "witnesses.json";

export interface Progress {
  size: number;
  root: string | null;
}

export class WitnessProgress {
  private readonly byVkey: Record<string, Progress>;

  constructor(private readonly dir: string, private readonly onWarning: (m: string) => void) {
    this.byVkey = this.load();
  }

  get(vkey: string): Progress {
    return this.byVkey[vkey] ?? { size: 0, root: null };
  }

  set(vkey: string, p: Progress): void {
    this.byVkey[vkey] = p;
    try {
      replaceFileSync(join(this.dir, PROGRESS_FILE), `${JSON.stringify({ v: 1, witnesses: this.byVkey })}\n`, 0o640);
    } catch (e) {
      if (!(e instanceof AtoError && e.code === "IO")) throw e;
      this.onWarning(`${e.message} (the witnesses' answers will correct it)`);
    }
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
