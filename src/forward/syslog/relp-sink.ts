/**
 * The RELP sink: the same RFC 5424 messages as the TLS sink, each a RELP transaction that
 * rsyslog (imrelp) answers once it has the message; plain TCP on a trusted path, or TLS
 * (with a client certificate) when ca_file is given.
 */
import { connect } from "node:net";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { SinkError, type Sink } from "../sink.ts";
import { syslogMessage } from "./format.ts";
import { RelpSession } from "./relp.ts";
import { readSyslogSettings } from "./settings.ts";
import { openTls, type TlsTarget } from "./tls.ts";

export function relpSink(s: SinkSettings): Sink {
  const { target, format, maxMessage } = readSyslogSettings(s);
  const tls = s.raw.ca_file !== undefined;
  const ackTimeoutMs = typeof s.raw.ack_timeout_ms === "number" ? s.raw.ack_timeout_ms : 10_000;
  let session: RelpSession | undefined;
  const where = `${target.host}:${target.port}`;

  let dialing: Promise<RelpSession> | undefined;

  /** The open session, or one dial shared by every batch in flight that asks meanwhile. */
  function open(): Promise<RelpSession> {
    if (session && !session.closed) return Promise.resolve(session);
    dialing ??= dial().finally(() => (dialing = undefined));
    return dialing;
  }

  async function dial(): Promise<RelpSession> {
    const socket = tls ? await openTls(target) : await tcp(target);
    const rs = new RelpSession(socket, where);
    try {
      await rs.open(target.timeoutMs);
    } catch (e) {
      rs.close();
      throw e;
    }
    session = rs;
    return rs;
  }

  return {
    name: s.name,
    type: "syslog-relp",
    // Each message is a numbered transaction answered on its own: batches overlap their answers.
    window: 4,
    async send(events: ForwardEvent[]) {
      const msgs = events.map((e) => syslogMessage(e, format));
      const big = msgs.findIndex((m) => Buffer.byteLength(m) > maxMessage);
      if (big >= 0) throw new SinkError(`the message of seq ${events[big]!.seq} is over max_message ${maxMessage}`, "too-large");
      const rs = await open();
      try {
        await rs.send(msgs, ackTimeoutMs);
      } catch (e) {
        rs.close(); // answers still owed would be matched to the wrong transactions: start a new session
        throw e;
      }
    },
    async close() {
      session?.close();
      session = undefined;
    },
  };
}

function tcp(t: TlsTarget) {
  return new Promise<import("node:net").Socket>((resolve, reject) => {
    const s = connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => fail(new SinkError(`cannot reach ${t.host}:${t.port}: no answer within ${t.timeoutMs} ms`, "unreachable")), t.timeoutMs);
    const fail = (e: SinkError) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.once("error", (e: NodeJS.ErrnoException) => fail(new SinkError(`cannot reach ${t.host}:${t.port}: ${e.code ?? e.message}`, "unreachable", { cause: e })));
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve(s);
    });
  });
}
