/**
 * The forwarder's config file (JSON): where cursors live, batching and retry, an optional
 * metrics address, and the sinks. Each sink's own settings are read by its type (sinks/).
 * batch.window (batches in flight at once) defaults to what the sink can take: 1 for the
 * file, HTTP and JetStream sinks (JetStream: stream order is what ato collect rebuilds), 4 for
 * syslog over TLS and RELP.
 *
 *   { "state_dir": "/var/lib/ato/forward", "listen": "127.0.0.1:9401",
 *     "batch": { "records": 1000, "bytes": 1048576, "linger_ms": 200, "window": 4 },
 *     "retry": { "base_ms": 200, "max_ms": 30000 },
 *     "sinks": [ { "name": "fleet", "type": "jetstream", "servers": ["nats://127.0.0.1:4222"], … } ] }
 */
import { readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import type { BatchLimits } from "./pipeline.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";

export interface SinkSettings {
  name: string;
  type: string;
  batch: BatchLimits;
  /** The sink's own fields, as written. */
  raw: Record<string, unknown>;
}

export interface ForwardConfig {
  stateDir: string;
  listen: string | undefined;
  retry: RetryPolicy;
  pollMs: number;
  /** /readyz fails for a sink that has lag and made no progress for this long. */
  stuckAfterMs: number;
  sinks: SinkSettings[];
}

const DEFAULT_BATCH: BatchLimits = { records: 1000, bytes: 1 << 20, lingerMs: 200 };
const NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function readForwardConfig(path: string): ForwardConfig {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno) throw new AtoError(`forward config ${path}: cannot read it (${errno})`, errno === "ENOENT" ? "NOT_FOUND" : "IO", { cause: e });
    throw new AtoError(`forward config ${path} is not JSON: ${(e as Error).message}`, "CONFIG", { cause: e });
  }
  return parseForwardConfig(o, path);
}

export function parseForwardConfig(o: Record<string, unknown>, where: string): ForwardConfig {
  if (typeof o !== "object" || o === null) throw new AtoError(`${where}: expected a JSON object`, "CONFIG");
  if (typeof o.state_dir !== "string") throw new AtoError(`${where}: state_dir (the directory of the cursors) is required`, "CONFIG");
  if (!Array.isArray(o.sinks) || o.sinks.length === 0) throw new AtoError(`${where}: sinks must be a non-empty list`, "CONFIG");
  const batch = readBatch(`${where}: batch`, o.batch, DEFAULT_BATCH);
  const r = (o.retry ?? {}) as Record<string, unknown>;
  const retry = { baseMs: count(`${where}: retry.base_ms`, r.base_ms, DEFAULT_RETRY.baseMs), maxMs: count(`${where}: retry.max_ms`, r.max_ms, DEFAULT_RETRY.maxMs) };
  const names = new Set<string>();
  const sinks = o.sinks.map((s: Record<string, unknown>, i: number) => {
    const at = `${where}: sinks[${i}]`;
    if (typeof s?.name !== "string" || !NAME.test(s.name)) throw new AtoError(`${at}: name must match ${NAME}; got ${JSON.stringify(s?.name)}`, "CONFIG");
    if (names.has(s.name)) throw new AtoError(`${at}: the name ${s.name} is used twice (each sink has its own cursor)`, "CONFIG");
    names.add(s.name);
    if (typeof s.type !== "string") throw new AtoError(`${at} (${s.name}): type is required`, "CONFIG");
    return { name: s.name, type: s.type, batch: readBatch(`${at}.batch`, s.batch, batch), raw: s };
  });
  if (o.listen !== undefined && typeof o.listen !== "string") throw new AtoError(`${where}: listen must be ADDR:PORT`, "CONFIG");
  return {
    stateDir: o.state_dir,
    listen: o.listen as string | undefined,
    retry,
    pollMs: count(`${where}: poll_ms`, o.poll_ms, 100),
    stuckAfterMs: count(`${where}: stuck_after_s`, o.stuck_after_s, 300) * 1000,
    sinks,
  };
}

function readBatch(at: string, v: unknown, d: BatchLimits): BatchLimits {
  const b = (v ?? {}) as Record<string, unknown>;
  const window = b.window === undefined ? d.window : count(`${at}.window`, b.window, 1);
  return { records: count(`${at}.records`, b.records, d.records), bytes: count(`${at}.bytes`, b.bytes, d.bytes), lingerMs: count(`${at}.linger_ms`, b.linger_ms, d.lingerMs, true), ...(window === undefined ? {} : { window }) };
}

function count(at: string, v: unknown, d: number, zero = false): number {
  if (v === undefined) return d;
  if (!Number.isSafeInteger(v) || (v as number) < (zero ? 0 : 1)) throw new AtoError(`${at} must be a ${zero ? "non-negative" : "positive"} integer; got ${JSON.stringify(v)}`, "CONFIG");
  return v as number;
}
