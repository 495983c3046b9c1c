/**
 * The traffic every watcher is shown: trafgen on the lab's client veth, one CPU, a fixed
 * template so each run sends exactly the same frames.
 *
 * Measured flows: UDP from the client's address to 198.18.N.77, destination port 9, a small
 * frame (60 bytes, IP 46) and a large one (1514 bytes, IP 1500) alternating, source ports
 * counting up so that FLOWS distinct flows share the packets. 198.18.N.77 is on the lab's /24
 * but on no host, and the server namespace does not forward: the server drops the packets after
 * every watcher has seen them and sends nothing back (no ICMP errors, no ARP), so the only
 * traffic on the wire is what trafgen sent.
 *
 * Filler: after each measured burst, FILLER small frames of another flow (to 198.19.N.77,
 * port 10), counted by nobody. libpcap reads a TPACKET_V3 ring in blocks; on this kernel the
 * last, partly filled block of a burst was not handed to softflowd even seconds later (169 of
 * 100,000 packets stayed there at 50 kpps, and pings did not push them out), while traffic that
 * keeps flowing, as on a real link, does. The filler plays that part.
 */
import { rmSync, writeFileSync } from "node:fs";
import type { Lab } from "../lab.ts";

export const FLOWS = 4096;
export const FILLER = 4000;
export const SMALL = { frame: 60, ip: 46 };
export const LARGE = { frame: 1514, ip: 1500 };
export const MEASURED_DPORT = 9;

export interface Sent { packets: number; ipBytes: number; frameBytes: number; seconds: number; pps: number }

/** Where the measured and filler packets go, as each tool prints it. */
export function addresses(lab: Lab) {
  const n = lab.server.v4.split(".")[2];
  return { src: lab.client.v4, dst: `198.18.${n}.77`, fillerDst: `198.19.${n}.77`, dstMasked: `198.18.${n}.0/24`, srcMasked: `198.18.${n}.0/24` };
}

function template(lab: Lab, dst: string, sport: string, dport: number, ipLen: number): string {
  const payload = ipLen - 20 - 8;
  return `{\n  eth(da=${lab.server.mac}, sa=${lab.client.mac}),\n  ipv4(sa=${lab.client.v4}, da=${dst}),\n  udp(sp=${sport}, dp=${dport}),\n  fill(0x00, ${payload})\n}\n`;
}

export class Traffic {
  private readonly measured: string;
  private readonly filler: string;

  constructor(private readonly lab: Lab, dir: string) {
    const a = addresses(lab);
    const half = FLOWS / 2;
    this.measured = `${dir}/measured.trafgen`;
    this.filler = `${dir}/filler.trafgen`;
    writeFileSync(this.measured,
      template(lab, a.dst, `dinc(10000, ${10000 + half - 1})`, MEASURED_DPORT, SMALL.ip) +
      template(lab, a.dst, `dinc(30000, ${30000 + half - 1})`, MEASURED_DPORT, LARGE.ip));
    writeFileSync(this.filler, template(lab, a.fillerDst, "9", MEASURED_DPORT + 1, SMALL.ip));
  }

  /** Sends `packets` measured frames at `pps` (0: as fast as trafgen can), then the filler. */
  send(packets: number, pps: number): Sent {
    const t0 = performance.now();
    const out = this.trafgen(this.measured, packets, pps);
    const seconds = (performance.now() - t0) / 1000;
    const sent = Number(/(\d+) packets outgoing/.exec(out)?.[1]);
    const frameBytes = Number(/(\d+) bytes outgoing/.exec(out)?.[1]);
    // Templates alternate, small first: the split follows from the count, and trafgen's own byte
    // count (Ethernet frames) must agree with it.
    const small = Math.ceil(sent / 2), large = Math.floor(sent / 2);
    if (sent !== packets || frameBytes !== small * SMALL.frame + large * LARGE.frame) {
      throw new Error(`trafgen sent ${sent} packets, ${frameBytes} bytes; expected ${packets} packets, ${small * SMALL.frame + large * LARGE.frame} bytes:\n${out}`);
    }
    this.trafgen(this.filler, FILLER, 0);
    return { packets: sent, ipBytes: small * SMALL.ip + large * LARGE.ip, frameBytes, seconds, pps: sent / seconds };
  }

  private trafgen(conf: string, packets: number, pps: number): string {
    // One CPU: the other is left to the receiving side. --no-sock-mem: leave the host's socket
    // buffer sysctls alone. --qdisc-path: through the stack's transmit path, like any sender.
    const argv = ["nsenter", `--net=/run/netns/${this.lab.client.ns}`, "trafgen", "--cpus", "1", "--no-sock-mem", "--qdisc-path",
      "--dev", this.lab.client.dev, "--conf", conf, "--num", String(packets), ...(pps ? ["--rate", `${pps}pps`] : [])];
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString() + r.stderr.toString();
    if (r.exitCode !== 0) throw new Error(`trafgen exited ${r.exitCode}: ${out.trim().split("\n").slice(-3).join(" / ")}`);
    return out;
  }

  remove(): void {
    rmSync(this.measured, { force: true });
    rmSync(this.filler, { force: true });
  }
}
