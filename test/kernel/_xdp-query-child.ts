/**
 * Run inside a lab namespace by xdp-query.test.ts: attaches the real program to IFACE in each mode in turn and
 * prints, for every mode, what the kept netlink socket says beside what libbpf's query says, then the same
 * detached, and for an interface that does not exist.
 */
import { rmSync } from "node:fs";
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
  out.answered = q.answered;
} finally {
  auditor.close();
  q.close();
  rmSync(pinDir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
