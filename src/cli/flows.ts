/** `ato flows`: the operator's local, unmasked view of the pinned flow map. No agent needed. */
import { defineCommand } from "citty";
import { KernelClock } from "../collector/index.ts";
import { readPinnedFlows, type Flow } from "../kernel/index.ts";
import { formatAddress } from "../mask/format.ts";
import { commandArgs, settingsFor } from "./_args.ts";

/** Rows the table shows without --top; --json without --top gives every flow. */
const TABLE_ROWS = 20;

export default defineCommand({
  meta: { name: "flows", description: "show the largest flows in the pinned flow map (unmasked, local; times in UTC)" },
  args: commandArgs("flows"),
  run({ args, rawArgs }) {
    const s = settingsFor("flows", args, rawArgs);
    const sort = s.get("sort")!;
    const json = s.get("json")!;
    const top = s.get("top") ?? (json ? Infinity : TABLE_ROWS);
    const flows = readPinnedFlows(s.get("pinDir")!);
    // One offset for the whole listing: every flow's times are on the same wall clock.
    const clock = new KernelClock();
    clock.sync();
    flows.sort((a, b) => Number(b.counts[sort] - a.counts[sort]));
    const rows = flows.slice(0, top).map((f) => toJson(f, clock));
    if (json) console.log(JSON.stringify(rows, null, 2));
    else console.log(table(rows, flows.length));
  },
});

function toJson(f: Flow, clock: KernelClock) {
  return {
    family: f.key.family,
    proto: f.key.proto,
    src: formatAddress(f.key.family, f.key.src),
    dst: formatAddress(f.key.family, f.key.dst),
    sport: f.key.sport,
    dport: f.key.dport,
    vlan: f.key.vlan,
    vlan_inner: f.key.vlanInner,
    ifindex: f.key.ifindex,
    packets: Number(f.counts.packets),
    bytes: Number(f.counts.bytes),
    first_seen: clock.toIso(f.counts.firstSeenNs),
    last_seen: clock.toIso(f.counts.lastSeenNs),
    tcp_flags: f.counts.tcpFlags,
    fragments: f.counts.fragments,
  };
}

const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6", 132: "sctp" };

function table(rows: ReturnType<typeof toJson>[], total: number): string {
  const head = ["PROTO", "SOURCE", "DESTINATION", "VLAN", "PACKETS", "BYTES", "LAST SEEN"];
  const body = rows.map((r) => [
    PROTO_NAMES[r.proto] ?? String(r.proto),
    endpoint(r.src, r.sport, r.family),
    endpoint(r.dst, r.dport, r.family),
    r.vlan ? String(r.vlan) : "-",
    String(r.packets),
    String(r.bytes),
    r.last_seen,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 4 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(head), ...body.map(line), `${rows.length} of ${total} flows`].join("\n");
}

function endpoint(addr: string, port: number, family: number): string {
  if (!port) return addr;
  return family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}
