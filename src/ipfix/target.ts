/** Where IPFIX goes: `udp://HOST:PORT` or `tcp://HOST:PORT` (IPv6 hosts in brackets), as `--ipfix` takes it. */
import { isIP } from "node:net";
import { AtoError } from "../errors.ts";

export interface IpfixTarget { transport: "udp" | "tcp"; host: string; port: number; text: string }

/** The target, or a sentence saying what was expected (for the settings parser). */
export function readTarget(raw: string): IpfixTarget | { expected: string } {
  const m = /^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:[\]]+):(\d{1,5})$/.exec(raw.trim());
  const expected = { expected: "udp://HOST:PORT or tcp://HOST:PORT (an IPv6 host in brackets), port 1-65535" };
  if (!m) return expected;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return expected;
  const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
  if (m[2]!.startsWith("[") && isIP(host) !== 6) return expected;
  return { transport: m[1] as "udp" | "tcp", host, port, text: `${m[1]}://${m[2]}:${port}` };
}

export function parseTarget(raw: string): IpfixTarget {
  const t = readTarget(raw);
  if ("expected" in t) throw new AtoError(`IPFIX collector ${JSON.stringify(raw)}: expected ${t.expected}`, "CONFIG");
  return t;
}
