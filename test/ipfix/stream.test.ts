/**
 * The exporter's streams as Wireshark's IPFIX dissector reads them: TCP (templates once per connection, a new
 * connection a new transport session), UDP (templates refreshed by time and by message count, messages that
 * fit a datagram, sequence numbers counting data records) and the collector addresses it accepts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { IpfixExporter, parseTarget, type FlowExport, type IpfixAddresses } from "../../src/ipfix/index.ts";
import { isAtoError } from "../../src/errors.ts";
import { shapes } from "./_flows.ts";
import { splitStream, tsharkFields } from "./_tshark.ts";

const OPTS = { addresses: "unmasked" as IpfixAddresses, ipv4Prefix: 24, ipv6Prefix: 48, domain: 7, refreshSeconds: 600, refreshMessages: 1000 };
const FIELDS = ["cflow.sequence", "cflow.od_id", "cflow.template_id", "cflow.packets", "cflow.octets", "cflow.vlanid", "cflow.dot1q_customer_vlan_id", "cflow.flow_end_reason", "cflow.tcpflags"];
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until(what: string, ok: () => boolean): Promise<void> {
  const end = Date.now() + 10000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

async function udpReceiver() {
  const got: Uint8Array[] = [];
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data(_s, d) { got.push(new Uint8Array(d)); } } });
  cleanup.push(() => sock.close());
  return { port: sock.port, got };
}

async function open(target: string, o: Partial<typeof OPTS> & { now?: () => number } = {}) {
  const ex = await IpfixExporter.open({ ...OPTS, ...o, targets: [target] });
  cleanup.push(() => ex.close());
  return ex;
}

function many(n: number): FlowExport[] {
  const base = shapes(Date.now())[0]!;
  return Array.from({ length: n }, (_, i) => ({ ...base, sport: 1024 + i, packets: i + 1, bytes: 100 * (i + 1) }));
}

describe("over TCP", () => {
  test("the collector decodes every record exactly; templates once, sequence numbers count data records", async () => {
    const chunks: Uint8Array[] = [];
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data(_s, d) { chunks.push(new Uint8Array(d)); } } });
    cleanup.push(() => server.stop(true));
    const ex = await open(`tcp://127.0.0.1:${server.port}`);
    const flows = shapes(Date.now());
    ex.export(flows.slice(0, 3));
    ex.export(flows.slice(3));
    await until("both messages", () => chunks.reduce((n, c) => n + c.length, 0) >= 2 * 16 + 7 * 56);
    const rows = tsharkFields(splitStream(Buffer.concat(chunks)), FIELDS);
    expect(rows.map((r) => [r[0], r[1], r[2]])).toEqual([["0", "7", "256,257"], ["3", "7", ""]]);
    expect(rows.flatMap((r) => r[3]!.split(",")).map(Number)).toEqual(flows.map((f) => f.packets));
    expect(rows.flatMap((r) => r[4]!.split(",")).map(Number)).toEqual(flows.map((f) => f.bytes));
    expect(rows.flatMap((r) => r[5]!.split(",")).map(Number)).toEqual(flows.map((f) => f.vlan));
    expect(rows.flatMap((r) => r[6]!.split(",")).map(Number)).toEqual(flows.map((f) => f.vlanInner));
    expect(rows.flatMap((r) => r[7]!.split(",")).map(Number)).toEqual(flows.map((f) => ({ idle: 1, active: 2, shutdown: 4 })[f.reason]));
    expect(rows.flatMap((r) => r[8]!.split(",")).map(Number)).toEqual(flows.map((f) => f.tcpFlags));
  });

  test("after the collector drops the connection, a new session begins: templates again, sequence from 0", async () => {
    const sessions: Uint8Array[][] = [];
    const server = Bun.listen<{ n: number }>({ hostname: "127.0.0.1", port: 0, socket: {
      open(s) { s.data = { n: sessions.push([]) - 1 }; },
      data(s, d) { sessions[s.data.n]!.push(new Uint8Array(d)); },
    } });
    cleanup.push(() => server.stop(true));
    const ex = await open(`tcp://127.0.0.1:${server.port}`);
    ex.export(many(5));
    await until("the first session's records", () => (sessions[0] ?? []).length > 0);
    server.stop(true); // closes the connection; the exporter retries
    const again = Bun.listen<{ n: number }>({ hostname: "127.0.0.1", port: server.port, socket: {
      open(s) { s.data = { n: sessions.push([]) - 1 }; },
      data(s, d) { sessions[s.data.n]!.push(new Uint8Array(d)); },
    } });
    cleanup.push(() => again.stop(true));
    await until("the exporter to reconnect", () => sessions.length === 2);
    ex.export(many(3));
    await until("the second session's records", () => sessions[1]!.length > 0);
    const second = tsharkFields(splitStream(Buffer.concat(sessions[1]!)), ["cflow.sequence", "cflow.template_id", "cflow.packets"]);
    expect(second).toEqual([["0", "256,257", "1,2,3"]]);
  });
});

describe("over UDP", () => {
  test("templates go out again every N messages", async () => {
    const rx = await udpReceiver();
    const ex = await open(`udp://127.0.0.1:${rx.port}`, { refreshMessages: 3 });
    for (let i = 0; i < 7; i++) ex.export(many(2));
    await until("7 datagrams", () => rx.got.length === 7);
    const rows = tsharkFields(rx.got, ["cflow.sequence", "cflow.template_id"]);
    expect(rows).toEqual([["0", "256,257"], ["2", ""], ["4", ""], ["6", "256,257"], ["8", ""], ["10", ""], ["12", "256,257"]]);
  });

  test("templates go out again when the refresh time has passed", async () => {
    const rx = await udpReceiver();
    let now = 1_800_000_000_000;
    const ex = await open(`udp://127.0.0.1:${rx.port}`, { refreshSeconds: 30, now: () => now });
    ex.export(many(1));
    now += 29_000;
    ex.export(many(1));
    now += 1_000;
    ex.export(many(1));
    await until("3 datagrams", () => rx.got.length === 3);
    expect(tsharkFields(rx.got, ["cflow.template_id"]).map((r) => r[0])).toEqual(["256,257", "", "256,257"]);
  });

  test("a large export is split into datagrams of at most 1400 bytes, each a whole number of records, none lost", async () => {
    const rx = await udpReceiver();
    const ex = await open(`udp://127.0.0.1:${rx.port}`);
    const flows = many(500);
    ex.export(flows);
    await until("every record", () => rx.got.reduce((n, d) => n + Math.floor((d.length - 16) / 56), 0) >= 500);
    expect(rx.got.every((d) => d.length <= 1400)).toBe(true);
    const rows = tsharkFields(rx.got, ["cflow.sequence", "cflow.packets"]);
    let seq = 0;
    for (const r of rows) {
      expect(Number(r[0])).toBe(seq);
      seq += r[1]!.split(",").length;
    }
    expect(rows.flatMap((r) => r[1]!.split(",")).map(Number)).toEqual(flows.map((f) => f.packets));
    expect(ex.stats()[0]!.stats).toMatchObject({ records: 500, dropped: 0 });
  });
});

describe("collector addresses", () => {
  test("udp:// and tcp:// with a host and port, IPv6 in brackets", () => {
    expect(parseTarget("udp://127.0.0.1:4739")).toMatchObject({ transport: "udp", host: "127.0.0.1", port: 4739 });
    expect(parseTarget("tcp://[::1]:4739")).toMatchObject({ transport: "tcp", host: "::1", port: 4739 });
  });

  test.each(["127.0.0.1:4739", "sctp://127.0.0.1:4739", "udp://127.0.0.1", "udp://127.0.0.1:0", "udp://127.0.0.1:70000", "tcp://[nothost]:1"])("%p is a CONFIG error naming the value", (raw) => {
    let err: unknown;
    try { parseTarget(raw); } catch (e) { err = e; }
    expect(isAtoError(err) && err.code === "CONFIG" && err.message.includes(raw)).toBe(true);
  });
});
