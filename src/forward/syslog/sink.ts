/**
 * The syslog sink: RFC 5424 over TLS with RFC 5425 framing, mutual TLS when a client
 * certificate is given. Plain syslog has no acknowledgements: a batch counts as delivered
 * once TLS has handed every byte to the kernel, so a connection that breaks right after a
 * write can lose what was in flight (RELP would close that gap; it is not built yet).
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { TLSSocket } from "node:tls";
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { SinkError, type Sink } from "../sink.ts";
import { octetFrame, syslogMessage, type SyslogFormat } from "./format.ts";
import { openTls, type TlsTarget } from "./tls.ts";

export function syslogTlsSink(s: SinkSettings): Sink {
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
  const target: TlsTarget = {
    host: r.host,
    port: r.port as number,
    serverName: typeof r.server_name === "string" ? r.server_name : r.host,
    ca: file("ca_file"),
    cert: file("cert_file"),
    key: file("key_file"),
    settleMs: typeof r.settle_ms === "number" ? r.settle_ms : 150,
    timeoutMs: 5000,
  };
  const format: SyslogFormat = {
    facility: typeof r.facility === "number" ? r.facility : 16,
    hostname: typeof r.hostname === "string" ? r.hostname : hostname(),
    appName: typeof r.app_name === "string" ? r.app_name : "ato",
    enterpriseId: typeof r.enterprise_id === "number" ? r.enterprise_id : 32473,
  };
  const maxMessage = typeof r.max_message === "number" ? r.max_message : 64 * 1024;
  let sock: TLSSocket | undefined;
  let broken: SinkError | undefined;

  async function socket(): Promise<TLSSocket> {
    if (sock && !broken && !sock.destroyed) return sock;
    sock?.destroy();
    broken = undefined;
    const s2 = await openTls(target);
    s2.on("error", (e: NodeJS.ErrnoException) => (broken ??= new SinkError(`the connection to ${target.host}:${target.port} failed: ${e.code ?? e.message}`, "unreachable")));
    s2.on("close", () => (broken ??= new SinkError(`${target.host}:${target.port} closed the connection`, "unreachable")));
    s2.on("data", () => {}); // a syslog receiver sends nothing; keep the stream flowing
    sock = s2;
    return s2;
  }

  return {
    name: s.name,
    type: "syslog-tls",
    async send(events: ForwardEvent[]) {
      const frames = events.map((e) => octetFrame(syslogMessage(e, format)));
      const big = frames.findIndex((f) => f.length > maxMessage);
      if (big >= 0) throw new SinkError(`the message of seq ${events[big]!.seq} is ${frames[big]!.length} bytes, over max_message ${maxMessage}`, "too-large");
      const s2 = await socket();
      await new Promise<void>((resolve, reject) => {
        s2.write(Buffer.concat(frames), (err) => {
          if (err || broken) reject(broken ?? new SinkError(`writing to ${target.host}:${target.port} failed: ${err!.message}`, "unreachable"));
          else resolve();
        });
      });
    },
    async close() {
      sock?.end();
      sock = undefined;
    },
  };
}
