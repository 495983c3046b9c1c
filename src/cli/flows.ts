/** `ato flows`: the operator's local, unmasked view of the pinned flow map. No agent needed. */
import { defineCommand } from "citty";
import { closeFd, objGet } from "../../ffi/libbpf.ts";
import { FlowMapReader, MAPS, requireBpffs, type Flow } from "../kernel/index.ts";
import { formatAddress } from "../mask/format.ts";
import { oneOf, positiveInt } from "./_args.ts";

export const DEFAULT_PIN_DIR = "/sys/fs/bpf/ato";

export default defineCommand({
  meta: { name: "flows", description: "show the top flows in the pinned flow map (unmasked, local)" },
  args: {
    "pin-dir": { type: "string", description: "bpffs directory of the agent's pinned maps", default: process.env.ATO_PIN_DIR ?? DEFAULT_PIN_DIR },
    json: { type: "boolean", description: "print a JSON array" },
    top: { type: "string", description: "show the N largest flows", default: "20" },
    sort: { type: "string", description: "packets | bytes", default: "packets" },
  },
  run({ args }) {
    const sort = oneOf("sort", args.sort, ["packets", "bytes"] as const, "packets");
    const top = positiveInt("top", args.top, 20);
    requireBpffs(args["pin-dir"]);
    const fd = objGet(`${args["pin-dir"]}/${MAPS.flows}`);
    let flows: Flow[];
    try {
      flows = new FlowMapReader(fd).readAll();
    } finally {
      closeFd(fd);
    }
    flows.sort((a, b) => Number(b.counts[sort] - a.counts[sort]));
    const rows = flows.slice(0, top).map(toJson);
    if (args.json) console.log(JSON.stringify(rows, null, 2));
    else console.log(table(rows, flows.length));
  },
});

export function toJson(f: Flow) {
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
    first_seen: Number(f.counts.firstSeenNs),
    last_seen: Number(f.counts.lastSeenNs),
    tcp_flags: f.counts.tcpFlags,
    fragments: f.counts.fragments,
  };
}

const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6", 132: "sctp" };

function table(rows: ReturnType<typeof toJson>[], total: number): string {
  const head = ["PROTO", "SOURCE", "DESTINATION", "VLAN", "PACKETS", "BYTES"];
  const body = rows.map((r) => [
    PROTO_NAMES[r.proto] ?? String(r.proto),
    endpoint(r.src, r.sport, r.family),
    endpoint(r.dst, r.dport, r.family),
    r.vlan ? String(r.vlan) : "-",
    String(r.packets),
    String(r.bytes),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  return [line(head), ...body.map(line), `${rows.length} of ${total} flows`].join("\n");
}

function endpoint(addr: string, port: number, family: number): string {
  if (!port) return addr;
  return family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}
