/**
 * Run inside a lab namespace by xdp-query.test.ts: attaches the real program to IFACE in each mode in turn and
 * prints, for every mode, what the kept netlink socket says beside what libbpf's query says, then the same
 * detached, and for an interface that does not exist.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { closeFd, netlinkRouteSocket, netlinkSend } from "../../ffi/libc.ts";
import { XDP_FLAGS, xdpQueryId } from "../../ffi/libbpf.ts";
import { ifindexOf, XdpAuditor } from "../../src/kernel/index.ts";
import { XdpQuery, type XdpQueryMode } from "../../src/kernel/xdp-query.ts";

const [iface, pinDir, object] = process.argv.slice(2) as [string, string, string];
const FLAGS = { drv: XDP_FLAGS.DRV_MODE, skb: XDP_FLAGS.SKB_MODE, hw: XDP_FLAGS.HW_MODE } as const;
const MODES: XdpQueryMode[] = ["drv", "skb", "hw"];
const q = new XdpQuery();
const ifindex = ifindexOf(iface);
const look = () => MODES.map((m) => ({ mode: m, netlink: q.programId(ifindex, m), libbpf: xdpQueryId(ifindex, FLAGS[m]) }));
const out: Record<string, unknown> = {};
const auditor = XdpAuditor.load({ objectPath: object, pinDir });
try {
  for (const mode of ["drv", "skb"] as const) {
    auditor.attach(iface, mode);
    out[mode] = { program: auditor.progFd >= 0 ? look() : null };
    auditor.detachAll();
  }
  out.detached = look();
  out.missing = { netlink: q.programId(999_999, "drv"), libbpf: xdpQueryId(999_999, FLAGS.drv) };
  out.answered = { ...q.answered };
  // Another socket of the namespace sends a would-be answer to the kept socket's port id: refused.
  const port = keptPortId();
  const forger = netlinkRouteSocket(port);
  const forged = new Uint8Array(64);
  new DataView(forged.buffer).setUint32(0, forged.length, true);
  new DataView(forged.buffer).setUint16(4, 16, true); // RTM_NEWLINK
  out.forged = { port: port > 0, send: netlinkSend(forger, forged) };
  closeFd(forger);
  out.afterForgery = look().find((x) => x.mode === "drv");
} finally {
  auditor.close();
  q.close();
  rmSync(pinDir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));

/** The port id of this process's one NETLINK_ROUTE socket left open (the kept one), from /proc/net/netlink. */
function keptPortId(): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* an fd closed while listing (readdir's own) */ }
  }
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  const rows = readFileSync("/proc/self/net/netlink", "utf8").trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
  const ours = rows.filter((r) => r[1] === "0" && inodes.has(r[9]!));
  if (ours.length !== 1) throw new Error(`expected one open NETLINK_ROUTE socket, found ${ours.length}`);
  return Number(ours[0]![2]);
}
