#!/usr/bin/env bun
/**
 * The lab: network namespaces joined by veth pairs, with addresses from 198.18.0.0/15 and
 * fd00::/8, so that real traffic flows without leaving this machine. Names are unique per
 * run (two runs never collide) and `destroy` removes everything, also after a failure.
 *
 *   bun scripts/lab.ts up [NAME]     create a lab, print its description as JSON
 *   bun scripts/lab.ts down NAME     remove it
 *   bun scripts/lab.ts gc            remove labs whose creating process is gone
 *
 * Topology ("client" and "server" namespaces; the agent watches the server's side):
 *
 *   ns <id>-c                                     ns <id>-s
 *   <id>c0  198.18.N.1/24  fd00:N::1/64  ───────  <id>s0  198.18.N.2/24  fd00:N::2/64
 *
 * VLAN-tagged traffic is sent as raw tagged frames (scapy or trafgen) on the veth: the kernels
 * this runs on may lack 802.1Q devices (CONFIG_VLAN_8021Q), and an XDP program sees tags in the
 * frame either way.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

export interface Host { ns: string; dev: string; v4: string; v6: string; mac: string }

export interface Lab {
  id: string;
  client: Host;
  server: Host;
  /** Runs a command in one of the lab's namespaces (argv form, no shell). */
  exec(side: "client" | "server", argv: string[], opts?: { allowFail?: boolean }): string;
  destroy(): void;
}

const STATE_DIR = "/run/ato-lab";

function sh(argv: string[], allowFail = false): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0 && !allowFail) {
    throw new Error(`lab: ${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  }
  return r.stdout.toString();
}

export function createLab(opts: { id?: string } = {}): Lab {
  const id = opts.id ?? `a${randomBytes(3).toString("hex")}`;
  // A per-lab /24 inside 198.18.0.0/15 and a per-lab /64 inside fd00::/8.
  const n = parseInt(id.slice(-2), 16) || 1;
  const lab: Lab = {
    id,
    client: { ns: `${id}-c`, dev: `${id}c0`, v4: `198.18.${n}.1`, v6: `fd00:${n.toString(16)}::1`, mac: "" },
    server: { ns: `${id}-s`, dev: `${id}s0`, v4: `198.18.${n}.2`, v6: `fd00:${n.toString(16)}::2`, mac: "" },
    exec(side, argv, o = {}) {
      return sh(["ip", "netns", "exec", lab[side].ns, ...argv], o.allowFail);
    },
    destroy() {
      destroyLab(id);
    },
  };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(`${STATE_DIR}/${id}`, JSON.stringify({ pid: process.pid }));
  try {
    for (const side of ["client", "server"] as const) sh(["ip", "netns", "add", lab[side].ns]);
    sh(["ip", "link", "add", lab.client.dev, "netns", lab.client.ns, "type", "veth", "peer", "name", lab.server.dev, "netns", lab.server.ns]);
    for (const side of ["client", "server"] as const) {
      const s = lab[side];
      const ex = (argv: string[]) => lab.exec(side, argv);
      ex(["ip", "link", "set", "lo", "up"]);
      // Tags stay in the frame (no VLAN offload), so the XDP program sees what a NIC would deliver.
      ex(["ethtool", "-K", s.dev, "txvlan", "off", "rxvlan", "off"]);
      ex(["ip", "addr", "add", `${s.v4}/24`, "dev", s.dev]);
      ex(["ip", "-6", "addr", "add", `${s.v6}/64`, "dev", s.dev, "nodad"]);
      ex(["ip", "link", "set", s.dev, "up"]);
      s.mac = readFileSyncIn(lab, side, `/sys/class/net/${s.dev}/address`);
      // No GRO: a capture on the interface then sees the frames one by one, as XDP does.
      ex(["ethtool", "-K", s.dev, "gro", "off"]);
      ex(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0"]);
    }
  } catch (e) {
    destroyLab(id);
    throw e;
  }
  return lab;
}

function readFileSyncIn(lab: Lab, side: "client" | "server", path: string): string {
  return lab.exec(side, ["cat", path]).trim();
}

export function destroyLab(id: string): void {
  for (const ns of [`${id}-c`, `${id}-s`]) {
    // Processes left in a namespace (servers, agents) would keep its veth alive.
    const pids = sh(["ip", "netns", "pids", ns], true).split(/\s+/).filter(Boolean);
    for (const p of pids) sh(["kill", "-9", p], true);
    sh(["ip", "netns", "del", ns], true);
  }
  rmSync(`${STATE_DIR}/${id}`, { force: true });
}

/** Removes labs whose creator is gone (a test runner killed before its cleanup ran). */
export function collectGarbage(): string[] {
  if (!existsSync(STATE_DIR)) return [];
  const removed: string[] = [];
  for (const id of readdirSync(STATE_DIR)) {
    const { pid } = JSON.parse(readFileSync(`${STATE_DIR}/${id}`, "utf8")) as { pid: number };
    if (!existsSync(`/proc/${pid}`)) {
      destroyLab(id);
      removed.push(id);
    }
  }
  return removed;
}

if (import.meta.main) {
  const [cmd, name] = process.argv.slice(2);
  if (cmd === "up") {
    const lab = createLab({ id: name });
    // The lab outlives this command: record no owner process so gc leaves it alone.
    writeFileSync(`${STATE_DIR}/${lab.id}`, JSON.stringify({ pid: 1 }));
    console.log(JSON.stringify({ id: lab.id, client: lab.client, server: lab.server }, null, 2));
  } else if (cmd === "down" && name) {
    destroyLab(name);
  } else if (cmd === "gc") {
    console.log(collectGarbage().join("\n"));
  } else {
    console.error("usage: bun scripts/lab.ts up [NAME] | down NAME | gc");
    process.exit(64);
  }
}
