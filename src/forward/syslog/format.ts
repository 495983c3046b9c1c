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
