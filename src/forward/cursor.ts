/**
 * The durable cursor of one sink: where the next unsent line starts (segment number, byte
 * offset in that segment's file, the line's seq) and which log it belongs to (log id,
 * origin), so a log replaced under the cursor is noticed instead of silently forwarded from a
 * wrong place. It is saved only after the sink acknowledged everything before it, atomically
 * (temp file, fsync, rename, fsync of the directory): after a crash it is either the old or
 * the new position, never a torn one, so a restart re-sends at most the last batch.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { replaceFileSync } from "../log/durable.ts";
import { dirname, join } from "node:path";
import { AtoError } from "../errors.ts";

export interface Cursor {
  log_id: string;
  origin: string;
  segment: number;
  offset: number;
  seq: number;
}

const VERSION = 1;

export function cursorPath(stateDir: string, sink: string): string {
  return join(stateDir, `${sink}.cursor.json`);
}

export function loadCursor(path: string): Cursor | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AtoError(`cannot read the forwarding cursor ${path}: ${(e as Error).message}`, "IO", { cause: e });
  }
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new AtoError(`the forwarding cursor ${path} is not JSON; move it away to forward from the start of the log`, "CORRUPT", { cause: e });
  }
  const count = (k: string) => Number.isSafeInteger(o[k]) && (o[k] as number) >= 0;
  if (o.v !== VERSION || typeof o.log_id !== "string" || typeof o.origin !== "string" || !count("segment") || !count("offset") || !count("seq")) {
    throw new AtoError(`the forwarding cursor ${path} is malformed (expected v, log_id, origin, segment, offset, seq)`, "CORRUPT");
  }
  return { log_id: o.log_id, origin: o.origin, segment: o.segment as number, offset: o.offset as number, seq: o.seq as number };
}

export function saveCursor(path: string, c: Cursor): void {
  const text = JSON.stringify({ v: VERSION, log_id: c.log_id, origin: c.origin, segment: c.segment, offset: c.offset, seq: c.seq }) + "\n";
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw new AtoError(`cannot save the forwarding cursor ${path}: ${(e as Error).message}`, "IO", { cause: e });
  }
  replaceFileSync(path, text, { what: "the forwarding cursor" });
}
