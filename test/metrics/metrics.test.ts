/** createMetrics(): names, types, fixed label sets, helpers, and a registry of its own. */
import { describe, expect, test } from "bun:test";
import { register as globalRegistry } from "prom-client";
import { createMetrics, protoLabel, setTotal } from "../../src/metrics/index.ts";
import { declarations, samples, value } from "./_scrape.ts";

const EXPECTED: Record<string, string> = {
  ato_verified_flows_total: "counter",
  ato_unverified_flows_total: "counter",
  ato_signed_evidence_total: "counter",
  xdp_audit_events_total: "counter",
  xdp_audit_leak_flags_total: "counter",
  xdp_audit_last_tscore: "gauge",
  ato_packets_total: "counter",
  ato_bytes_total: "counter",
  ato_kernel_malformed_total: "counter",
  ato_kernel_map_full_total: "counter",
  ato_kernel_ringbuf_full_total: "counter",
  ato_kernel_non_ip_total: "counter",
  ato_flow_map_entries: "gauge",
  ato_flow_map_capacity: "gauge",
  ato_signing_duration_seconds: "histogram",
  ato_checkpoint_tree_size: "gauge",
  ato_checkpoint_age_seconds: "gauge",
  ato_evidence_log_bytes: "gauge",
  ato_hsm_errors_total: "counter",
  ato_log_write_errors_total: "counter",
  ato_collector_cycle_seconds: "histogram",
  ato_collector_map_reads_total: "counter",
  ato_build_info: "gauge",
};

describe("createMetrics", () => {
  test("exports every seed and operator metric with its type and a HELP text", async () => {
    const text = await createMetrics().registry.metrics();
    const { types, help } = declarations(text);
    for (const [name, type] of Object.entries(EXPECTED)) {
      expect({ name, type: types.get(name) }).toEqual({ name, type });
      expect(help.get(name)?.length ?? 0).toBeGreaterThan(10);
    }
  });

  test("uses its own registry: nothing lands in prom-client's global one, and two instances do not collide", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.verifiedFlows.inc(3);
    expect(value(await a.registry.metrics(), "ato_verified_flows_total")).toBe(3);
    expect(value(await b.registry.metrics(), "ato_verified_flows_total")).toBe(0);
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(0);
  });

  test("fixed label sets exist at 0 from the start: kind, proto x direction", async () => {
    const text = await createMetrics().registry.metrics();
    for (const kind of ["spike", "timing", "overflow"]) expect(value(text, "xdp_audit_events_total", { kind })).toBe(0);
    for (const proto of ["tcp", "udp", "icmp", "icmp6", "other"]) {
      expect(value(text, "ato_packets_total", { proto, direction: "ingress" })).toBe(0);
      expect(value(text, "ato_bytes_total", { proto, direction: "ingress" })).toBe(0);
    }
  });

  test("addTraffic files packets and bytes under the protocol's label", async () => {
    const m = createMetrics();
    m.addTraffic(6, 10, 1500);
    m.addTraffic(6, 2n, 100n);
    m.addTraffic(58, 1, 64);
    m.addTraffic(47, 1, 80); // GRE
    const text = await m.registry.metrics();
    expect(value(text, "ato_packets_total", { proto: "tcp" })).toBe(12);
    expect(value(text, "ato_bytes_total", { proto: "tcp" })).toBe(1600);
    expect(value(text, "ato_packets_total", { proto: "icmp6" })).toBe(1);
    expect(value(text, "ato_packets_total", { proto: "other" })).toBe(1);
    expect([1, 6, 17, 58, 0].map(protoLabel)).toEqual(["icmp", "tcp", "udp", "icmp6", "other"]);
  });

  test("countEvent: a timing flag is also a leak flag and sets the last |t|", async () => {
    const m = createMetrics();
    m.countEvent("spike");
    m.countEvent("timing", -6.5);
    m.countEvent("timing", 4.25);
    const text = await m.registry.metrics();
    expect(value(text, "xdp_audit_events_total", { kind: "spike" })).toBe(1);
    expect(value(text, "xdp_audit_events_total", { kind: "timing" })).toBe(2);
    expect(value(text, "xdp_audit_leak_flags_total")).toBe(2);
    expect(value(text, "xdp_audit_last_tscore")).toBe(4.25);
  });

  test("build info is 1 with version, commit, bun and libbpf labels", async () => {
    const m = createMetrics({ build: { version: "9.9.9", commit: "abc1234", libbpf: "1.5.0" } });
    const s = samples(await m.registry.metrics()).find((x) => x.name === "ato_build_info")!;
    expect(s.value).toBe(1);
    expect(s.labels).toEqual({ version: "9.9.9", commit: "abc1234", bun: Bun.version, libbpf: "1.5.0" });
  });

  test("checkpoint age counts from start, then from the last signed checkpoint; failed ones do not reset it", async () => {
    const m = createMetrics({ startedAt: Date.now() - 30_000 });
    expect(value(await m.registry.metrics(), "ato_checkpoint_age_seconds")).toBeGreaterThanOrEqual(30);
    m.recordCheckpoint({ treeSize: 100, signed: true, flows: 90, at: Date.now() - 5_000 });
    let text = await m.registry.metrics();
    expect(value(text, "ato_checkpoint_age_seconds")).toBeGreaterThanOrEqual(5);
    expect(value(text, "ato_checkpoint_age_seconds")).toBeLessThan(6);
    m.recordCheckpoint({ treeSize: 150, signed: false, flows: 40 });
    text = await m.registry.metrics();
    expect(value(text, "ato_checkpoint_age_seconds")).toBeGreaterThanOrEqual(5);
    expect(value(text, "ato_checkpoint_tree_size")).toBe(150);
    expect(value(text, "ato_verified_flows_total")).toBe(90);
    expect(value(text, "ato_unverified_flows_total")).toBe(40);
    expect(value(text, "ato_signed_evidence_total")).toBe(1);
  });
});

describe("setTotal mirrors a cumulative value into a counter", () => {
  test("grows by the difference, ignores repeats, and never decreases", async () => {
    const m = createMetrics();
    const read = async () => value(await m.registry.metrics(), "ato_kernel_malformed_total");
    m.setKernelCounters({ malformed: 5n });
    expect(await read()).toBe(5);
    m.setKernelCounters({ malformed: 5n });
    expect(await read()).toBe(5);
    m.setKernelCounters({ malformed: 12n });
    expect(await read()).toBe(12);
    // The program was reloaded and counts from zero again: its 3 new packets are added, nothing is subtracted.
    m.setKernelCounters({ malformed: 3n });
    expect(await read()).toBe(15);
    m.setKernelCounters({ malformed: 4n });
    expect(await read()).toBe(16);
  });

  test("keeps one last value per label set", async () => {
    const m = createMetrics();
    setTotal(m.packets, 10, { proto: "udp", direction: "ingress" });
    setTotal(m.packets, 7, { proto: "tcp", direction: "ingress" });
    setTotal(m.packets, 15, { direction: "ingress", proto: "udp" });
    const text = await m.registry.metrics();
    expect(value(text, "ato_packets_total", { proto: "udp" })).toBe(15);
    expect(value(text, "ato_packets_total", { proto: "tcp" })).toBe(7);
  });

  test("maps every kernel counter", async () => {
    const m = createMetrics();
    m.setKernelCounters({ malformed: 1n, map_full: 2n, ringbuf_full: 3n, non_ip: 4n });
    const text = await m.registry.metrics();
    expect([
      value(text, "ato_kernel_malformed_total"),
      value(text, "ato_kernel_map_full_total"),
      value(text, "ato_kernel_ringbuf_full_total"),
      value(text, "ato_kernel_non_ip_total"),
    ]).toEqual([1, 2, 3, 4]);
  });
});
