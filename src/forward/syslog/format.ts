/**
 * RFC 5424 messages framed for RFC 5425 (syslog over TLS: octet counting, "LEN SP MSG").
 * The evidence line is the MSG, verbatim; origin, seq and class go in structured data so a
 * receiver can index them without parsing the line:
 *
 *   <134>1 2025-06-01T12:00:00.000Z host ato - flow [ato@32473 origin="ato/host/…" seq="41" class="internal"] {"class":…}
 */
export interface SyslogFormat {
  /** RFC 5424 §6.2.1 facility, default 16 (local0); severity is always 6 (informational). */
  facility: number;
  hostname: string;
  appName: string;
  /** The SD-ID's private enterprise number (RFC 5424 §7.2.2); 32473 is the one reserved for examples. */
  enterpriseId: number;
}

import type { ForwardEvent } from "../event.ts";

export function syslogMessage(e: ForwardEvent, f: SyslogFormat): string {
  const sd = `[ato@${f.enterpriseId} origin="${sdValue(e.origin)}" seq="${e.seq}" class="${sdValue(e.class)}"]`;
  return `<${f.facility * 8 + 6}>1 ${e.ts} ${header(f.hostname, 255)} ${header(f.appName, 48)} - ${header(e.kind, 32)} ${sd} ${e.line}`;
}

/**
 * The same message, framed (RFC 5425 "LEN SP MSG") for a run of events: the parts that
 * repeat (host, app, kind, origin, class) are escaped once per distinct value, and the
 * length is counted from the line's own byte count when the reader gave it.
 */
export function syslogFramer(f: SyslogFormat): (e: ForwardEvent) => { frame: string; bytes: number } {
  const pri = `<${f.facility * 8 + 6}>1 `;
  const hostApp = ` ${header(f.hostname, 255)} ${header(f.appName, 48)} - `;
  const parts = new Map<string, { head: string; tail: string; bytes: number }>();
  return (e) => {
    const key = `${e.kind}\n${e.origin}\n${e.class}`;
    let p = parts.get(key);
    if (!p) {
      const head = `${hostApp}${header(e.kind, 32)} [ato@${f.enterpriseId} origin="${sdValue(e.origin)}" seq="`;
      const tail = `" class="${sdValue(e.class)}"] `;
      p = { head, tail, bytes: Buffer.byteLength(pri + head + tail) };
      parts.set(key, p);
    }
    const seq = String(e.seq);
    const lineBytes = e.bytes ?? Buffer.byteLength(e.line);
    const ts = e.ts;
    const bytes = p.bytes + ts.length + seq.length + lineBytes + (ts.length === Buffer.byteLength(ts) ? 0 : Buffer.byteLength(ts) - ts.length);
    return { frame: `${bytes} ${pri}${ts}${p.head}${seq}${p.tail}${e.line}`, bytes };
  };
}

/** RFC 5425 §4.3: MSG-LEN SP SYSLOG-MSG, the length in octets. */
export function octetFrame(msg: string): Buffer {
  const body = Buffer.from(msg, "utf8");
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

/** §6.3.3: inside PARAM-VALUE, '"', '\' and ']' are escaped with a backslash. */
function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Header fields are PRINTUSASCII without spaces, bounded; "-" when empty. */
function header(v: string, max: number): string {
  const s = v.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return s === "" ? "-" : s;
}
