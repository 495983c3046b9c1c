/** The detector's rules on flows of known shape: warm-up, thresholds, cooldown, bounded memory, what TCP flags say. */
import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { AnomalyDetector, anomalyCounter, anomalyRecord, attempt, type DetectFlow } from "../../src/detect/index.ts";

const SYN = 0x02, RST = 0x04, ACK = 0x10, FIN = 0x01;
const flow = (o: Partial<DetectFlow> = {}): DetectFlow => ({
  proto: 6, ifindex: 2, src: "198.18.1.0/24", dst: "198.18.2.0/24", dstId: "198.18.2.2", sport: 40000, dport: 80,
  packets: 10, bytes: 1000, tcpFlags: SYN | ACK | FIN, isNew: true, ...o,
});
const steady = (n: number) => Array.from({ length: n }, (_, i) => flow({ sport: 40000 + i }));

describe("what a new flow's OR'ed TCP flags say", () => {
  test("SYN and ACK: a completed handshake; SYN alone: failed; RST without SYN: a refusal in reply; neither: not an attempt", () => {
    expect(attempt(flow())).toBe("ok");
    expect(attempt(flow({ tcpFlags: SYN }))).toBe("failed");
    expect(attempt(flow({ tcpFlags: RST | ACK }))).toBe("refused-reply");
    expect(attempt(flow({ tcpFlags: ACK }))).toBe("none");
    expect(attempt(flow({ isNew: false }))).toBe("none");
    expect(attempt(flow({ proto: 17, tcpFlags: 0 }))).toBe("ok");
  });
});

describe("AnomalyDetector", () => {
  test("nothing fires during the warm-up, however large the change", () => {
    const d = new AnomalyDetector({ warmupCycles: 10 });
    for (let c = 0; c < 10; c++) expect(d.observe(steady(c === 5 ? 500 : 5), 1)).toEqual([]);
  });

  test("after the warm-up, a jump in new connections fires once per service and source, then the cooldown holds", () => {
    const d = new AnomalyDetector({ warmupCycles: 10, cooldownCycles: 5 });
    for (let c = 0; c < 20; c++) expect(d.observe(steady(5), 1)).toEqual([]);
    const got = d.observe(steady(100), 1).filter((a) => a.kind === "new_connections");
    expect(got.map((a) => a.scope).sort()).toEqual(["service", "source"]);
    expect(got[0]).toMatchObject({ observed: 100, unit: "per_second" });
    expect(got[0]!.baselineMean).toBeCloseTo(5, 0);
    expect(d.observe(steady(100), 1).filter((a) => a.kind === "new_connections")).toEqual([]);
    expect(d.counts.get("new_connections")).toBe(2);
  });

  test("a change below the floors fires nothing, even far above the baseline", () => {
    const d = new AnomalyDetector({ warmupCycles: 2 });
    for (let c = 0; c < 5; c++) d.observe(steady(1), 1);
    expect(d.observe(steady(15), 1)).toEqual([]); // 15/s < 20/s
  });

  test("failed connections need the share and the rate; a scan needs distinct targets", () => {
    const d = new AnomalyDetector({ warmupCycles: 2, minNewPerSecond: 1e9 });
    for (let c = 0; c < 5; c++) d.observe(steady(20), 1);
    const failed = Array.from({ length: 30 }, (_, i) => flow({ dport: 9999, sport: 50000 + i, tcpFlags: SYN }));
    expect(d.observe([...steady(20), ...failed], 1).filter((a) => a.kind === "failed_connections" && a.scope === "service").map((a) => a.port)).toEqual([9999]);
    const scan = Array.from({ length: 80 }, (_, i) => flow({ dport: 1 + i, tcpFlags: SYN, src: "198.18.9.0/24" }));
    expect(d.observe(scan, 1).filter((a) => a.kind === "scan").map((a) => [a.src, a.observed])).toEqual([["198.18.9.0/24", 80]]);
  });

  test("memory stays bounded by maxSeries however many sources appear", () => {
    const d = new AnomalyDetector({ maxSeries: 1000 });
    for (let c = 0; c < 20; c++) d.observe(Array.from({ length: 500 }, (_, i) => flow({ src: `10.${c}.${i >> 8}.${i & 255}`, dport: i })), 1);
    expect(d.size).toBeLessThanOrEqual(1000);
  });
});

describe("an anomaly's evidence and metric", () => {
  test("the record names what, where, the baseline and the observed value; the metric counts by kind only", async () => {
    const d = new AnomalyDetector({ warmupCycles: 2 });
    for (let c = 0; c < 5; c++) d.observe(steady(2), 1);
    const found = d.observe(steady(200), 2);
    const rec = anomalyRecord(found.find((a) => a.scope === "service")!, (i) => `if${i}`, new Date(0));
    expect(rec).toEqual({ anomaly: "new_connections", scope: "service", at: "1970-01-01T00:00:00.000Z", iface: "if2", proto: 6, port: 80, observed: 100, baseline_mean: expect.any(Number), baseline_sd: expect.any(Number), threshold: expect.any(Number), unit: "per_second" });
    const registry = new Registry();
    const count = anomalyCounter(registry);
    count(found);
    const text = await registry.metrics();
    expect(text).toContain('ato_anomalies_total{kind="new_connections"} 2');
    expect(text).toContain('ato_anomalies_total{kind="scan"} 0');
    expect(text).not.toContain("198.18");
  });
});
