/**
 * `ato witness serve` settings: flags, or a JSON file (--config) for many logs:
 *
 *   { "listen": "0.0.0.0:7380", "state": "/var/lib/ato-witness",
 *     "logs": ["ato/host-a/…=/etc/ato-witness/host-a.pem", { "origin": "…", "key": "/…/b.pem" }] }
 *
 * Flags win over the file; --log adds to the file's logs.
 */
import { readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { parseLogSpec, type TrustedLogs } from "./logs.ts";

export const DEFAULT_WITNESS_LISTEN = "127.0.0.1:7380";

export interface ServeSettings {
  listen: string;
  state: string;
  logs: TrustedLogs;
}

export function serveSettings(flags: { listen?: string; state?: string; logs: string[]; config?: string }): ServeSettings {
  const file = flags.config ? readConfig(flags.config) : {};
  const state = flags.state ?? file.state;
  if (!state) throw new AtoError("--state DIR is required (the witness's key and what it cosigned)", "USAGE");
  const logs: TrustedLogs = new Map();
  for (const spec of [...(file.logs ?? []), ...flags.logs]) parseLogSpec(spec, logs);
  if (logs.size === 0) throw new AtoError("no log to witness: pass --log ORIGIN=PUBKEY.pem (repeatable) or list them in --config", "USAGE");
  return { listen: flags.listen ?? file.listen ?? DEFAULT_WITNESS_LISTEN, state, logs };
}

function readConfig(path: string): { listen?: string; state?: string; logs?: string[] } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new AtoError(`cannot read the witness configuration ${path}: ${(e as Error).message}`, "CONFIG", { cause: e });
  }
  const str = (k: string) => {
    if (o[k] !== undefined && typeof o[k] !== "string") throw new AtoError(`${path}: "${k}" must be a string`, "CONFIG");
    return o[k] as string | undefined;
  };
  if (o.logs !== undefined && !Array.isArray(o.logs)) throw new AtoError(`${path}: "logs" must be a list`, "CONFIG");
  const logs = ((o.logs as unknown[]) ?? []).map((l, i) => {
    if (typeof l === "string") return l;
    const e = l as Record<string, unknown>;
    if (typeof e?.origin !== "string" || typeof e.key !== "string") throw new AtoError(`${path}: logs[${i}] must be "ORIGIN=KEY" or { "origin", "key" }`, "CONFIG");
    return `${e.origin}=${typeof e.key_name === "string" ? `${e.key_name}:` : ""}${e.key}`;
  });
  return { listen: str("listen"), state: str("state"), logs };
}
