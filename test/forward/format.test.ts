/** The wire formats written by hand: RFC 5424/5425 syslog and the NATS protocol parser. */
import { describe, expect, test } from "bun:test";
import { octetFrame, syslogFramer, syslogMessage } from "../../src/forward/syslog/format.ts";
import { ProtocolParser } from "../../src/forward/nats/protocol.ts";
import { eventJson } from "../../src/forward/event.ts";

const event = { origin: 'ato/h"x]/1', seq: 41, kind: "flow", class: "internal", ts: "2025-06-01T12:00:00.000Z", line: '{"class":"internal","data":{"n":"é"},"kind":"flow","seq":41,"ts":"2025-06-01T12:00:00.000Z","v":1}' };

describe("syslog", () => {
  test("RFC 5424 header, structured data with escaped values, the line verbatim as MSG", () => {
    const m = syslogMessage(event, { facility: 16, hostname: "host one", appName: "ato", enterpriseId: 32473 });
    expect(m).toBe(`<134>1 2025-06-01T12:00:00.000Z host_one ato - flow [ato@32473 origin="ato/h\\"x\\]/1" seq="41" class="internal"] ${event.line}`);
  });

  test("RFC 5425 octet counting counts bytes, not characters", () => {
    const f = octetFrame("é");
    expect(f.toString()).toBe("2 é");
  });

  test("the batch framer gives the same bytes as framing each message on its own, with or without the reader's byte count", () => {
    const format = { facility: 16, hostname: "host one", appName: "ato", enterpriseId: 32473 };
    const frame = syslogFramer(format);
    for (const e of [event, { ...event, bytes: Buffer.byteLength(event.line) }, { ...event, seq: 42, origin: "ato/é" }, event]) {
      const want = octetFrame(syslogMessage(e, format));
      const got = frame(e);
      expect(Buffer.from(got.frame).toString("hex")).toBe(want.toString("hex"));
      expect(got.bytes + String(got.bytes).length + 1).toBe(want.length);
    }
  });
});

describe("NATS protocol parser", () => {
  test("ops split anywhere across reads, HMSG headers with a status, payload counted in bytes", () => {
    const wire = Buffer.from('INFO {"max_payload":1048576}\r\nPING\r\nMSG _INBOX.a.1 1 3\r\né!\r\nHMSG _INBOX.a.2 1 30 30\r\nNATS/1.0 503 No Responders\r\n\r\n\r\nMSG foo  7\treply.x 2\r\nhi\r\n-ERR \'Authorization Violation\'\r\n');
    for (let cut = 1; cut < wire.length; cut++) {
      const p = new ProtocolParser();
      const ops = [...p.feed(wire.subarray(0, cut)), ...p.feed(wire.subarray(cut))];
      expect(ops.map((o) => o.op)).toEqual(["INFO", "PING", "MSG", "MSG", "MSG", "ERR"]);
      const [info, , msg, hmsg, spaced, err] = ops as any[];
      expect([spaced.subject, spaced.sid, spaced.reply, spaced.payload.toString()]).toEqual(["foo", 7, "reply.x", "hi"]);
      expect(info.info.max_payload).toBe(1048576);
      expect(msg.payload.toString()).toBe("é!");
      expect(hmsg.headers.status).toBe(503);
      expect(hmsg.payload.length).toBe(0);
      expect(err.message).toBe("Authorization Violation");
    }
  });
});

describe("forwarded event", () => {
  test("the hand-written JSON is byte for byte what JSON.stringify gives, escapes included", () => {
    const odd = { ...event, kind: "fl\\ow", class: "in\u0001ternal", ts: "2025-06-01T12:00:00.000Z\u2028", line: event.line.replace("é", '\\"\\u0000😀') };
    for (const e of [event, odd]) {
      expect(eventJson(e)).toBe(JSON.stringify({ class: e.class, id: `${e.origin}/${e.seq}`, kind: e.kind, line: e.line, origin: e.origin, seq: e.seq, ts: e.ts }));
      expect(JSON.parse(eventJson(e)).line).toBe(e.line);
    }
  });
});
