/**
 * Traffic generators for the lab, each sending an exact, known number of packets, and a
 * capture (tcpdump, read back with tshark) as the independent count.
 */
import type { Lab } from "../../scripts/lab.ts";

/** Sends the same raw frame `count` times from a lab interface through an AF_PACKET socket. */
export function sendRawFrames(lab: Lab, side: "client" | "server", frame: Uint8Array, count: number, gapMs = 0): void {
  const py = `
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
f = bytes.fromhex(sys.argv[2])
for _ in range(int(sys.argv[3])):
    s.send(f)
    if float(sys.argv[4]) > 0: time.sleep(float(sys.argv[4]) / 1000)
`;
  lab.exec(side, ["python3", "-c", py, lab[side].dev, Buffer.from(frame).toString("hex"), String(count), String(gapMs)]);
}

/**
 * Sends `count` UDP datagrams of `size` payload bytes, with an optional pause between them (ms,
 * list cycles). Returns the gaps really taken between sends (ms): a loaded machine's scheduler
 * can stretch a sleep well past what was asked.
 */
export function sendUdp(lab: Lab, dst: string, port: number, count: number, size = 32, gapsMs: number[] = [0], sport = 0, cpu?: number): number[] {
  const py = `
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
if int(sys.argv[6]): s.bind(("", int(sys.argv[6])))
gaps = [float(g) for g in sys.argv[5].split(",")]
sent = []
for i in range(int(sys.argv[3])):
    s.sendto(b"x" * int(sys.argv[4]), (sys.argv[1], int(sys.argv[2])))
    sent.append(time.monotonic())
    g = gaps[i % len(gaps)]
    if g > 0: time.sleep(g / 1000)
print(" ".join("%.3f" % ((b - a) * 1000) for a, b in zip(sent, sent[1:])))
`;
  const pin = cpu === undefined ? [] : ["taskset", "-c", String(cpu)];
  const out = lab.exec("client", [...pin, "python3", "-c", py, dst, String(port), String(count), String(size), gapsMs.join(","), String(sport)]);
  return out.trim().split(/\s+/).filter(Boolean).map(Number);
}

export const DISCARD_PORT = 9;

export interface CapturedFlow { family: 4 | 6; proto: number; src: string; dst: string; sport: number; dport: number; vlan: number; packets: number; bytes: number }

/**
 * A capture of what the client's interface transmits, i.e. exactly what arrives at the
 * server's veth, where ato watches. (Capturing inbound on the server itself was tried: with a
 * native XDP program on a veth, the first frames after an idle spell reached XDP but not the
 * packet socket, so the capture, not ato, came up short.)
 */
export class Capture {
  private constructor(private readonly proc: ReturnType<typeof Bun.spawn>, private readonly file: string) {}

  static async start(lab: Lab, file: string): Promise<Capture> {
    // tcpdump -U writes each frame as it is captured, so the file tells when capture is live:
    // probe datagrams (to the discard port) are sent until one shows up in it.
    const proc = Bun.spawn(["ip", "netns", "exec", lab.client.ns, "tcpdump", "-i", lab.client.dev, "-Q", "out", "-U", "-n", "-w", file], {
      stdout: "ignore", stderr: "ignore",
    });
    const until = Date.now() + 20000;
    while (!(await Bun.file(file).exists()) || Bun.file(file).size <= 24) {
      if (Date.now() > until || proc.exitCode !== null) throw new Error("tcpdump did not start capturing");
      sendUdp(lab, lab.server.v4, DISCARD_PORT, 1, 1);
      await Bun.sleep(100);
    }
    return new Capture(proc, file);
  }

  /** Stops the capture and sums packets and IP bytes per flow, keyed like ato's flows. */
  async flows(): Promise<CapturedFlow[]> {
    await Bun.sleep(200);
    this.proc.kill("SIGINT");
    await this.proc.exited;
    const fields = ["ip.src", "ip.dst", "ip.len", "ipv6.src", "ipv6.dst", "ipv6.plen", "ip.proto", "tcp.srcport", "tcp.dstport",
      "udp.srcport", "udp.dstport", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "vlan.id"];
    const r = Bun.spawnSync(["tshark", "-r", this.file, "-T", "fields", "-E", "separator=|", ...fields.flatMap((f) => ["-e", f])]);
    const byKey = new Map<string, CapturedFlow>();
    for (const line of r.stdout.toString().split("\n").filter(Boolean)) {
      const v = Object.fromEntries(line.split("|").map((x, i) => [fields[i]!, x.split(",")[0]!]));
      const family = v["ip.src"] ? 4 : v["ipv6.src"] ? 6 : 0;
      if (!family) continue;
      const proto = v["tcp.srcport"] ? 6 : v["udp.srcport"] ? 17 : v["icmpv6.type"] ? 58 : v["icmp.type"] ? 1 : Number(v["ip.proto"] ?? 0);
      const icmpType = v["icmp.type"] || v["icmpv6.type"], icmpCode = v["icmp.code"] || v["icmpv6.code"];
      const f: CapturedFlow = {
        family, proto,
        src: family === 4 ? v["ip.src"]! : v["ipv6.src"]!,
        dst: family === 4 ? v["ip.dst"]! : v["ipv6.dst"]!,
        sport: Number(v["tcp.srcport"] || v["udp.srcport"] || 0),
        dport: icmpType ? (Number(icmpType) << 8) | Number(icmpCode || 0) : Number(v["tcp.dstport"] || v["udp.dstport"] || 0),
        vlan: Number(v["vlan.id"] || 0),
        packets: 1,
        bytes: family === 4 ? Number(v["ip.len"]) : 40 + Number(v["ipv6.plen"]),
      };
      const key = flowKey(f);
      const seen = byKey.get(key);
      if (seen) { seen.packets++; seen.bytes += f.bytes; } else byKey.set(key, f);
    }
    return [...byKey.values()];
  }
}

export function flowKey(f: { family: number; proto: number; src: string; dst: string; sport: number; dport: number; vlan: number }): string {
  return `${f.family}/${f.proto}/${f.src}/${f.sport}/${f.dst}/${f.dport}/${f.vlan}`;
}
