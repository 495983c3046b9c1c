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
import { syslogFramer } from "./format.ts";
import { readSyslogSettings } from "./settings.ts";
import { openTls } from "./tls.ts";

export function syslogTlsSink(s: SinkSettings): Sink {
  const { target, format, maxMessage } = readSyslogSettings(s);
  const framer = syslogFramer(format);
  let sock: TLSSocket | undefined;
  let broken: SinkError | undefined;

  let dialing: Promise<TLSSocket> | undefined;

  /** The open connection, or one dial shared by every batch in flight that asks meanwhile. */
  function socket(): Promise<TLSSocket> {
    if (sock && !broken && !sock.destroyed) return Promise.resolve(sock);
    dialing ??= dial().finally(() => (dialing = undefined));
    return dialing;
  }

  async function dial(): Promise<TLSSocket> {
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
    // One TLS stream keeps the order of the writes; a window lets TLS work while the next batch is cut.
    window: 4,
    async send(events: ForwardEvent[]) {
      // Every frame into one string, one buffer, one write: no per-record buffers or awaits.
      let wire = "";
      for (const e of events) {
        const { frame, bytes } = framer(e);
        const size = bytes + String(bytes).length + 1;
        if (size > maxMessage) throw new SinkError(`the message of seq ${e.seq} is ${size} bytes, over max_message ${maxMessage}`, "too-large");
        wire += frame;
      }
      const s2 = await socket();
      await new Promise<void>((resolve, reject) => {
        s2.write(wire, (err) => {
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
