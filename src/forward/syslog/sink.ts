/**
 * The syslog sink: RFC 5424 over TLS with RFC 5425 framing, mutual TLS when a client
 * certificate is given. Plain syslog has no acknowledgements: a batch counts as delivered
 * once TLS has handed every byte to the kernel, so a connection that breaks right after a
 * write can lose what was in flight (the RELP sink, relp-sink.ts, closes that gap).
 */
import type { TLSSocket } from "node:tls";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { SinkError, type Sink } from "../sink.ts";
import { octetFrame, syslogMessage } from "./format.ts";
import { readSyslogSettings } from "./settings.ts";
import { openTls } from "./tls.ts";

export function syslogTlsSink(s: SinkSettings): Sink {
  const { target, format, maxMessage } = readSyslogSettings(s);
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
