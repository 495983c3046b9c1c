/**
 * End to end on the lab (needs root): `ato run` attached to the server's veth while real
 * traffic flows; `ato flows --json` must equal tshark's count of the same frames, per flow.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { Agent, agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { ETH_P, IPPROTO, v4Frame, udp } from "../support/frames.ts";
import { Capture, flowKey, sendRawFrames, sendUdp } from "../support/traffic.ts";

let lab: Lab;
let agent: Agent | undefined;
let pinDir: string;
let tmp: string;
let setup: Awaited<ReturnType<typeof agentSetup>>;

beforeAll(async () => {
  setup = await agentSetup("e2e");
  lab = createLab();
  pinDir = uniquePinDir("e2e");
  tmp = mkdtempSync(`${tmpdir()}/ato-e2e-`);
});

afterEach(async () => {
  agent?.kill();
  await agent?.proc.exited;
  agent = undefined;
  // A killed agent leaves its program attached (by design); the next test starts clean.
  lab.exec("server", ["ip", "link", "set", "dev", lab.server.dev, "xdpdrv", "off"], { allowFail: true });
  lab.exec("server", ["ip", "link", "set", "dev", lab.server.dev, "xdpgeneric", "off"], { allowFail: true });
});

afterAll(async () => {
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  Bun.spawnSync(["chattr", "-R", "-a", tmp], { stderr: "ignore" }); // evidence segments are append-only
  rmSync(tmp, { recursive: true, force: true });
});

function xdpAttached(): boolean {
  const out = lab.exec("server", ["ip", "-j", "link", "show", "dev", lab.server.dev]);
  return Boolean(JSON.parse(out)[0]?.xdp);
}

describe("[kernel] ato run on a live interface", () => {
  test("counts equal an independent capture, per flow, for ICMP, ICMPv6, TCP, UDP and VLAN-tagged frames", async () => {
    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], setup.env);
    await agent.waitFor(/attached on \S+ with mode=drv/);
    expect(xdpAttached()).toBe(true);

    const capture = await Capture.start(lab, `${tmp}/capture.pcap`);
    lab.exec("client", ["ping", "-c", "7", "-i", "0.05", "-q", lab.server.v4]);
    lab.exec("client", ["ping", "-6", "-c", "5", "-i", "0.05", "-q", lab.server.v6]);
    // TCP: a listener in the server namespace, 200 kB from the client.
    const server = Bun.spawn(["ip", "netns", "exec", lab.server.ns, "ncat", "-l", "-k", "5201"], { stdout: "ignore", stderr: "ignore" });
    await Bun.sleep(300);
    lab.exec("client", ["sh", "-c", `head -c 200000 /dev/zero | ncat --send-only ${lab.server.v4} 5201`]);
    server.kill();
    sendUdp(lab, lab.server.v4, 5353, 40, 100);
    sendUdp(lab, lab.server.v6, 5354, 25, 700);
    // VLAN 42 tagged frames straight onto the wire.
    const tagged = v4Frame({ src: lab.client.v4, dst: lab.server.v4, proto: IPPROTO.UDP }, udp(4242, 4343, 20), [{ tpid: ETH_P.VLAN, vid: 42 }]);
    sendRawFrames(lab, "client", tagged.frame, 33);
    const captured = await capture.flows();

    const r = atoIn(lab.server.ns, ["flows", "--pin-dir", pinDir, "--json", "--top", "1000"]);
    expect(r.code).toBe(0);
    const seen = new Map((JSON.parse(r.stdout) as { family: number; proto: number; src: string; dst: string; sport: number; dport: number; vlan: number; packets: number; bytes: number }[])
      .map((f) => [flowKey(f), f]));

    // The traffic this test sent, each flow by its key: both counts must agree exactly.
    // ICMP echo and TCP, whose packet counts the stacks decide, against the capture.
    const sent = captured.filter((f) =>
      (f.proto === 1 && f.dport === 8 << 8) || (f.proto === 58 && f.dport === 128 << 8) || (f.proto === 6 && f.dport === 5201));
    expect(sent.map((f) => `${f.proto}/${f.dport}`).sort()).toEqual(["1/2048", "58/32768", "6/5201"].sort());
    for (const f of sent) {
      expect({ flow: flowKey(f), packets: seen.get(flowKey(f))?.packets, bytes: seen.get(flowKey(f))?.bytes })
        .toEqual({ flow: flowKey(f), packets: f.packets, bytes: f.bytes });
    }
    expect(sent.find((f) => f.proto === 1)!.packets).toBe(7);
    expect(sent.find((f) => f.proto === 58)!.packets).toBe(5);
    // UDP and the VLAN-tagged frames against the generators' own counts, exact by construction.
    // (tcpdump on the sender came up short on bursts of IPv6 datagrams, and frames injected on
    // a packet socket never reach a capture socket on the same host.)
    const udpFlows = [...seen.values()].filter((f) => f.proto === 17);
    const one = (dport: number, vlan = 0) => {
      const m = udpFlows.filter((f) => f.dport === dport && f.vlan === vlan);
      expect(m).toHaveLength(1);
      return { packets: m[0]!.packets, bytes: m[0]!.bytes };
    };
    expect(one(5353)).toEqual({ packets: 40, bytes: 40 * (20 + 8 + 100) });
    expect(one(5354)).toEqual({ packets: 25, bytes: 25 * (40 + 8 + 700) });
    expect(one(4343, 42)).toEqual({ packets: 33, bytes: 33 * tagged.ipBytes });
    // Every other inbound IP frame (neighbour discovery, TCP's return path is egress) matches too.
    for (const f of captured) {
      const mine = seen.get(flowKey(f));
      expect(mine?.packets ?? 0).toBeGreaterThanOrEqual(f.packets);
    }

    expect(await agent.stop("SIGTERM")).toBe(0);
    expect(agent.output).toContain("detached from");
    expect(xdpAttached()).toBe(false);
  });

  test("a stale program left by a killed agent is replaced; a second agent on the same pin directory is refused", async () => {
    const first = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], setup.env);
    await first.waitFor(/attached on/);
    first.kill();
    await first.proc.exited;
    expect(xdpAttached()).toBe(true); // SIGKILL leaves the program attached

    agent = Agent.start(lab.server.ns, ["--iface", lab.server.dev, "--pin-dir", pinDir, ...setup.args], setup.env);
    await agent.waitFor(/attached on .*replaced_stale=true/);
    const otherAudit = `${tmp}/second-audit`;
    const second = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--pin-dir", pinDir, "--audit-dir", otherAudit, "--listen", "127.0.0.1:0"], setup.env);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/another ato agent \(pid \d+\) is already running on pin directory/);
    expect(await agent.stop("SIGINT")).toBe(0);
    expect(xdpAttached()).toBe(false);
  });

  test("errors a user meets are one clear line and a non-zero exit", () => {
    const unknown = atoIn(lab.server.ns, ["run", "--iface", "nosuch0", "--pin-dir", pinDir, ...setup.args], setup.env);
    expect(unknown.code).toBe(66);
    expect(unknown.stderr.trim()).toBe("ato: unknown interface 'nosuch0' (ip -br link lists the interfaces of this network namespace)");

    const notBpffs = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--pin-dir", tmp, ...setup.args], setup.env);
    expect(notBpffs.code).toBe(66);
    expect(notBpffs.stderr).toContain("is not on a BPF filesystem");

    const missing = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--pin-dir", pinDir, "--bpf-object", `${tmp}/none.o`, ...setup.args], setup.env);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain(`BPF object ${tmp}/none.o not found`);

    const badMode = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--mode", "fast", ...setup.args], setup.env);
    expect(badMode.code).toBe(78);
    expect(badMode.stderr).toMatch(/mode must be one of auto, drv, skb, hw; got 'fast'/);

    const hw = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--pin-dir", pinDir, "--mode", "hw", ...setup.args], setup.env);
    expect(hw.code).toBe(71);
    expect(hw.stderr).toContain("cannot attach XDP in hw mode");
    expect(xdpAttached()).toBe(false);
  });
});

describe("[kernel] a program the verifier rejects", () => {
  test("is reported with the verifier's last lines, and nothing is attached", () => {
    // Reads packet bytes without a bounds check: the verifier must refuse it.
    const src = `${tmp}/bad.c`;
    writeFileSync(src, `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1); __type(key, int); __type(value, int); } flow_map SEC(".maps");
SEC("xdp") int xdp_audit(struct xdp_md *ctx) {
  unsigned char *p = (unsigned char *)(long)ctx->data;
  return p[20] & 3;
}
char LICENSE[] SEC("license") = "GPL";
`);
    const cc = Bun.spawnSync(["clang", "-target", "bpf", "-O2", "-g", "-I", `/usr/include/${process.arch === "x64" ? "x86_64" : "aarch64"}-linux-gnu`, "-c", src, "-o", `${tmp}/bad.o`]);
    expect(cc.exitCode).toBe(0);
    const r = atoIn(lab.server.ns, ["run", "--iface", lab.server.dev, "--pin-dir", pinDir, "--bpf-object", `${tmp}/bad.o`, ...setup.args], setup.env);
    expect(r.code).toBe(71);
    expect(r.stderr).toContain(`ato: the kernel's BPF verifier rejected ${tmp}/bad.o`);
    expect(r.stderr).toMatch(/invalid access to packet/);
    expect(xdpAttached()).toBe(false);
  });
});
