/**
 * Wireshark's IPFIX dissector as an independent decoder of what was sent: messages (as a collector received
 * them, from a UDP or TCP socket) are wrapped into a capture file by text2pcap and read back by tshark as IPFIX
 * ("cflow"), one row per message with every occurrence of each field, comma-joined.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Splits a TCP byte stream into IPFIX messages by their header's length field (RFC 7011 §3.1). */
export function splitStream(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 16 <= stream.length;) {
    const len = (stream[at + 2]! << 8) | stream[at + 3]!;
    if (len < 16 || at + len > stream.length) throw new Error(`bad IPFIX message length ${len} at ${at}`);
    out.push(stream.subarray(at, at + len));
    at += len;
  }
  return out;
}

export function tsharkFields(messages: Uint8Array[], fields: string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), "ato-ipfix-tshark-"));
  try {
    const text = messages.map((m) => {
      const lines: string[] = [];
      for (let i = 0; i < m.length; i += 16) lines.push(`${i.toString(16).padStart(6, "0")} ${[...m.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
      return lines.join("\n");
    }).join("\n\n") + "\n";
    writeFileSync(join(dir, "m.txt"), text);
    const w = Bun.spawnSync(["text2pcap", "-q", "-u", "4739,4739", join(dir, "m.txt"), join(dir, "m.pcap")]);
    if (w.exitCode !== 0) throw new Error(`text2pcap failed: ${w.stderr.toString()}`);
    const r = Bun.spawnSync(["tshark", "-r", join(dir, "m.pcap"), "-d", "udp.port==4739,cflow", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", ...fields.flatMap((f) => ["-e", f])]);
    if (r.exitCode !== 0) throw new Error(`tshark failed: ${r.stderr.toString()}`);
    return r.stdout.toString().replace(/\n$/, "").split("\n").map((l) => l.split("\t"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
