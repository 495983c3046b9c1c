/** The settings the syslog sinks share: where to connect, TLS files, the message's header fields. */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { SyslogFormat } from "./format.ts";
import type { TlsTarget } from "./tls.ts";

export interface SyslogSettings {
  target: TlsTarget;
  format: SyslogFormat;
  maxMessage: number;
}

export function readSyslogSettings(s: SinkSettings): SyslogSettings {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.host !== "string" || !Number.isInteger(r.port)) throw new AtoError(`${at}: host and port are required`, "CONFIG");
  if ("key" in r || "key_pem" in r) throw new AtoError(`${at}: the client key may not be written in the config file; give key_file`, "CONFIG");
  const file = (k: string) => {
    const p = r[k];
    if (p === undefined) return undefined;
    try {
      return readFileSync(p as string);
    } catch (e) {
      throw new AtoError(`${at}: cannot read ${k} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "CONFIG", { cause: e });
    }
  };
  return {
    target: {
      host: r.host,
      port: r.port as number,
      serverName: typeof r.server_name === "string" ? r.server_name : r.host,
      ca: file("ca_file"),
      cert: file("cert_file"),
      key: file("key_file"),
      settleMs: typeof r.settle_ms === "number" ? r.settle_ms : 150,
      timeoutMs: typeof r.timeout_ms === "number" ? r.timeout_ms : 5000,
    },
    format: {
      facility: typeof r.facility === "number" ? r.facility : 16,
      hostname: typeof r.hostname === "string" ? r.hostname : hostname(),
      appName: typeof r.app_name === "string" ? r.app_name : "ato",
      enterpriseId: typeof r.enterprise_id === "number" ? r.enterprise_id : 32473,
    },
    maxMessage: typeof r.max_message === "number" ? r.max_message : 64 * 1024,
  };
}
