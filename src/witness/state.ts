/**
 * What a witness remembers: per log origin, the size and root of the latest checkpoint it
 * cosigned. One small JSON file per origin under <state>/logs/, named by SHA-256 of the
 * origin, replaced atomically and synced before any answer that depends on it (atomic.ts).
 * At start every file is read and checked; one that cannot be read is a refusal to start
 * (a witness that forgot a log could be made to cosign a fork of it), never a reset.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import { base64, hashFromBase64, hex, sha256, type Hash } from "../tree/index.ts";
import { TEMP_SUFFIX, replaceFile } from "./atomic.ts";

export interface LogState {
  origin: string;
  size: number;
  root: Hash;
  /** POSIX seconds of the cosignature that recorded this state. */
  timestamp: number;
}

export class WitnessState {
  private readonly logs = new Map<string, LogState>();

  private constructor(private readonly dir: string) {}

  static open(stateDir: string): WitnessState {
    const dir = join(stateDir, "logs");
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new AtoError(`cannot create the witness state directory ${dir}: ${(e as Error).message}`, "IO", { cause: e });
    }
    const s = new WitnessState(dir);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      // A temporary file is a write that never reached its rename: the old file is the state.
      if (name.endsWith(TEMP_SUFFIX)) rmSync(path, { force: true });
      else s.load(path, name);
    }
    return s;
  }

  get(origin: string): LogState | undefined {
    return this.logs.get(origin);
  }

  get size(): number {
    return this.logs.size;
  }

  /**
   * Persists first (synced), then updates memory: what is answered is always what is on disk.
   * The caller runs one put per origin at a time (Witness's per-origin queue).
   */
  async put(next: LogState): Promise<void> {
    const data = { v: 1, origin: next.origin, size: next.size, root: base64(next.root), timestamp: next.timestamp };
    await replaceFile(this.pathOf(next.origin), `${JSON.stringify(data)}\n`);
    this.logs.set(next.origin, next);
  }

  private pathOf(origin: string): string {
    return join(this.dir, `${hex(sha256(new TextEncoder().encode(origin)))}.json`);
  }

  private load(path: string, name: string): void {
    const fail = (why: string, cause?: unknown) => new AtoError(`the witness state ${path} is corrupt (${why}); refusing to start rather than forget what was cosigned — restore it from a backup, or retire this witness`, "CORRUPT", { cause });
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw fail("not JSON", e);
    }
    if (o === null || typeof o !== "object" || o.v !== 1) throw fail("not version 1");
    if (typeof o.origin !== "string" || this.pathOf(o.origin) !== path || !name.endsWith(".json")) throw fail("its name is not the hash of its origin");
    if (!Number.isSafeInteger(o.size) || (o.size as number) < 0) throw fail("size is not a tree size");
    if (!Number.isSafeInteger(o.timestamp) || (o.timestamp as number) < 0) throw fail("timestamp is not a POSIX time");
    let root: Hash;
    try {
      root = hashFromBase64(o.root, "root");
    } catch (e) {
      throw fail("root is not a base64 SHA-256 hash", e);
    }
    this.logs.set(o.origin, { origin: o.origin, size: o.size as number, root, timestamp: o.timestamp as number });
  }
}
