/**
 * [kernel] End to end on the lab: real traffic into the real XDP program, the real flow map exported through the
 * real exporter to nfcapd (in the server's namespace, on its loopback); nfdump reads back exactly the packets
 * and bytes the kernel counted, per flow, for ICMP, ICMPv6, UDP and VLAN-tagged (802.1Q and QinQ) flows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { ETH_P, IPPROTO, udp, v4Frame } from "../support/frames.ts";
import { sendRawFrames, sendUdp } from "../support/traffic.ts";
import { Nfcapd } from "./_collectors.ts";

let lab: Lab;
let nf: Nfcapd;
let proc: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">> | undefined;

beforeAll(async () => {
  lab = createLab();
  nf = await Nfcapd.start(lab.server.ns);
});

afterAll(async () => {
  if (proc && proc.exitCode === null) { proc.kill("SIGKILL"); await proc.exited; }
  await nf?.stop();
  lab?.destroy();
});

/** An address as text in one canonical form (IPv6 compressed), from hex bytes or from nfdump's text. */
function canonical(a: string): string {
  if (/^[0-9a-f]{8}$/.test(a)) return a.match(/../g)!.map((h) => parseInt(h, 16)).join(".");
  const text = /^[0-9a-f]{32}$/.test(a) ? a.match(/.{4}/g)!.join(":") : a;
  return text.includes(":") ? new URL(`http://[${text}]`).hostname.slice(1, -1) : text;
}

describe("[kernel] IPFIX from the real flow map", () => {
  test("nfdump reads back exactly what the kernel counted, per flow (ICMP, ICMPv6, UDP, VLAN, QinQ)", async () => {
    proc = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bun", `${import.meta.dir}/_lab-export.ts`, lab.server.dev, uniquePinDir("ipfix"), `udp://127.0.0.1:${nf.port}`], {
      stdin: "pipe", stdout: "pipe", stderr: "pipe",
    });
    const lines = (async function* () {
      let buf = "";
      for await (const c of proc!.stdout) {
        buf += new TextDecoder().decode(c);
        let i;
        while ((i = buf.indexOf("\n")) >= 0) { yield JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1); }
      }
    })();
    expect((await lines.next()).value).toEqual({ ready: true });

    lab.exec("client", ["ping", "-c", "7", "-i", "0.05", "-q", lab.server.v4]);
    lab.exec("client", ["ping", "-6", "-c", "5", "-i", "0.05", "-q", lab.server.v6]);
    sendUdp(lab, lab.server.v4, 7000, 20, 100);
    const base = { src: "198.51.100.7", dst: lab.server.v4 };
    sendRawFrames(lab, "client", v4Frame({ ...base, proto: IPPROTO.UDP }, udp(1111, 2222, 40), [{ tpid: ETH_P.VLAN, vid: 100 }]).frame, 9);
    sendRawFrames(lab, "client", v4Frame({ ...base, proto: IPPROTO.UDP }, udp(3333, 4444, 10), [{ tpid: ETH_P.QINQ, vid: 300 }, { tpid: ETH_P.VLAN, vid: 42 }]).frame, 4);
    await Bun.sleep(300);
    proc.stdin.write("export\n");
    proc.stdin.end();
    const { flows } = (await lines.next()).value as { flows: { proto: number; src: string; dst: string; sport: number; dport: number; vlan: number; vlanInner: number; packets: number; bytes: number }[] };
    expect(await proc.exited).toBe(0);
    await Bun.sleep(200);
    await nf.finish();

    // The shapes the test sent are all there (the kernel saw them), and each came back exactly.
    const protos = new Set(flows.map((f) => f.proto));
    for (const p of [IPPROTO.ICMP, IPPROTO.ICMPV6, IPPROTO.UDP]) expect(protos.has(p)).toBe(true);
    expect(flows.some((f) => f.vlan === 100)).toBe(true);
    expect(flows.some((f) => f.vlan === 300 && f.vlanInner === 42)).toBe(true);
    const key = (f: { proto: number; src: string; dst: string; sport: number; dport: number; vlan: number }) => `${f.proto} ${canonical(f.src)} ${canonical(f.dst)} ${f.sport} ${f.dport} ${f.vlan}`;
    const back = new Map(nf.flows().map((r) => [key(r), r]));
    expect(back.size).toBe(flows.length);
    for (const f of flows) expect([key(f), back.get(key(f))?.packets, back.get(key(f))?.bytes]).toEqual([key(f), f.packets, f.bytes]);
    expect(nf.info()["Sequence failures"]).toBe("0");
  });
});
