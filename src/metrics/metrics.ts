/**
 * createMetrics(): every metric ato exports, in a Registry of its own (never prom-client's global one, so two
 * agents in one test process, or a library that registers its own, cannot collide). Names are those the
 * stack's dashboards use (ato_*, xdp_audit_*) and Prometheus's conventions: _total for counters, base units (seconds, bytes).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { DIRECTIONS, EVENT_KINDS, PROTOS, protoLabel, type Direction, type EventKind } from "./labels.ts";
import { liveMetrics } from "./_live.ts";
import { setTotal } from "./total.ts";
import { commit, VERSION } from "../version.ts";

export interface BuildInfo {
  version: string;
  commit: string;
  bun: string;
  libbpf: string;
}

export interface MetricsOptions {
  /** Labels of ato_build_info; the caller passes libbpf's version (metrics never load native code). */
  build?: Partial<BuildInfo>;
  /** When the agent started (ms since the epoch): checkpoint age counts from here until the first signed one. */
  startedAt?: number;
  /**
   * The scrape-time series (process_*, ato_checkpoint_age_seconds) are rendered by whoever serves the scrape,
   * from `checkpointSince()`, not in this registry: the metrics worker (published.ts) does this.
   */
  liveElsewhere?: boolean;
}

/** The kernel's program-wide counters, as src/kernel's readCounters() returns them (bigint or number). */
export type KernelCounters = Partial<Record<"malformed" | "map_full" | "ringbuf_full" | "non_ip", number | bigint>>;

export type AtoMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  const startedAt = options.startedAt ?? Date.now();
  let lastSignedAt: number | undefined;
  const r = [registry];

  const m = {
    registry,
    verifiedFlows: new Counter({ name: "ato_verified_flows_total", help: "Flow records covered by a checkpoint whose signature succeeded.", registers: r }),
    unverifiedFlows: new Counter({ name: "ato_unverified_flows_total", help: "Flow records covered by a checkpoint whose signature failed (a later good checkpoint covers them again).", registers: r }),
    signedEvidence: new Counter({ name: "ato_signed_evidence_total", help: "Checkpoints signed through PKCS#11.", registers: r }),
    auditEvents: new Counter({ name: "xdp_audit_events_total", help: "Ring-buffer events received from the XDP program, by kind.", labelNames: ["kind"] as const, registers: r }),
    leakFlags: new Counter({ name: "xdp_audit_leak_flags_total", help: "Packets the timing audit flagged (|t| at or above the threshold).", registers: r }),
    lastTscore: new Gauge({ name: "xdp_audit_last_tscore", help: "|t| of the most recent timing-audit flag.", registers: r }),
    packets: new Counter({ name: "ato_packets_total", help: "Packets seen by the XDP program, by protocol and direction.", labelNames: ["proto", "direction"] as const, registers: r }),
    bytes: new Counter({ name: "ato_bytes_total", help: "Bytes seen by the XDP program, by protocol and direction.", labelNames: ["proto", "direction"] as const, registers: r }),
    kernelMalformed: new Counter({ name: "ato_kernel_malformed_total", help: "Packets the XDP program could not parse (passed, never dropped).", registers: r }),
    kernelMapFull: new Counter({ name: "ato_kernel_map_full_total", help: "Packets of new flows the full flow map could not store (reported as overflow evidence).", registers: r }),
    kernelRingbufFull: new Counter({ name: "ato_kernel_ringbuf_full_total", help: "Events lost because the ring buffer was full.", registers: r }),
    kernelNonIp: new Counter({ name: "ato_kernel_non_ip_total", help: "Packets that were neither IPv4 nor IPv6.", registers: r }),
    flowMapEntries: new Gauge({ name: "ato_flow_map_entries", help: "Flows in the kernel flow map at the collector's last read of it.", registers: r }),
    flowMapCapacity: new Gauge({ name: "ato_flow_map_capacity", help: "Maximum number of flows the kernel flow map holds.", registers: r }),
    signingDuration: new Histogram({
      name: "ato_signing_duration_seconds", help: "Time to sign one checkpoint through PKCS#11.", registers: r,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    checkpointTreeSize: new Gauge({ name: "ato_checkpoint_tree_size", help: "Records in the Merkle tree at the last checkpoint.", registers: r }),
    evidenceLogBytes: new Gauge({ name: "ato_evidence_log_bytes", help: "Size of the evidence log on disk: the bytes of all its segment files in the audit directory, read at each scrape.", registers: r }),
    hsmErrors: new Counter({ name: "ato_hsm_errors_total", help: "Failed PKCS#11 operations of the checkpoint signer (session, login, signing, closing); a checkpoint without a signer is not one.", registers: r }),
    logWriteErrors: new Counter({ name: "ato_log_write_errors_total", help: "Failed writes, syncs or rotations of the evidence log.", registers: r }),
    collectorCycle: new Histogram({
      name: "ato_collector_cycle_seconds", help: "Time of one collector cycle: read the flow map (when something needs it), mask, append records.", registers: r,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    collectorMapReads: new Counter({ name: "ato_collector_map_reads_total", help: "Collector cycles that read the whole flow map; the others found nothing that needed it (no timeout due, nobody scraping, no detector).", registers: r }),
    buildInfo: new Gauge({ name: "ato_build_info", help: "Always 1; the labels say which ato is running.", labelNames: ["version", "commit", "bun", "libbpf"] as const, registers: r }),

    /** Ms since the epoch of the last signed checkpoint, or of the start before one (ato_checkpoint_age_seconds counts from it). */
    checkpointSince: (): number => lastSignedAt ?? startedAt,

    /** Adds a flow's packet and byte deltas under its protocol's label (IP protocol number). */
    addTraffic(proto: number, packets: number | bigint, bytes: number | bigint, direction: Direction = "ingress"): void {
      const labels = { proto: protoLabel(proto), direction };
      if (packets) m.packets.inc(labels, Number(packets));
      if (bytes) m.bytes.inc(labels, Number(bytes));
    },

    /** Mirrors the kernel's cumulative counters (never decreasing; see total.ts). */
    setKernelCounters(c: KernelCounters): void {
      if (c.malformed !== undefined) setTotal(m.kernelMalformed, c.malformed);
      if (c.map_full !== undefined) setTotal(m.kernelMapFull, c.map_full);
      if (c.ringbuf_full !== undefined) setTotal(m.kernelRingbufFull, c.ringbuf_full);
      if (c.non_ip !== undefined) setTotal(m.kernelNonIp, c.non_ip);
    },

    /** One ring-buffer event; a timing flag also counts as a leak flag and sets the last |t|. */
    countEvent(kind: EventKind, tscore?: number): void {
      m.auditEvents.inc({ kind });
      if (kind !== "timing") return;
      m.leakFlags.inc();
      if (tscore !== undefined && Number.isFinite(tscore)) m.lastTscore.set(Math.abs(tscore));
    },

    setFlowMap(entries: number, capacity: number): void {
      m.flowMapEntries.set(entries);
      m.flowMapCapacity.set(capacity);
    },

    /**
     * A checkpoint was appended. `flows`: the flow records added since the previous checkpoint, counted as
     * verified when its signature succeeded and as unverified when it failed.
     */
    recordCheckpoint(c: { treeSize: number; signed: boolean; flows?: number; at?: number }): void {
      m.checkpointTreeSize.set(c.treeSize);
      if (c.signed) {
        m.signedEvidence.inc();
        lastSignedAt = c.at ?? Date.now();
      }
      if (c.flows) (c.signed ? m.verifiedFlows : m.unverifiedFlows).inc(c.flows);
    },
  };

  // Every fixed label combination exists from the first scrape, at 0: rate() and absent() need no special case.
  for (const kind of EVENT_KINDS) m.auditEvents.inc({ kind }, 0);
  for (const proto of PROTOS) for (const direction of DIRECTIONS) {
    m.packets.inc({ proto, direction }, 0);
    m.bytes.inc({ proto, direction }, 0);
  }
  m.buildInfo.set(buildLabels(options.build), 1);
  if (!options.liveElsewhere) liveMetrics(registry, m.checkpointSince);
  return m;
}

function buildLabels(b: Partial<BuildInfo> = {}): BuildInfo {
  return { version: b.version ?? VERSION, commit: b.commit ?? commit(), bun: b.bun ?? Bun.version, libbpf: b.libbpf ?? "unknown" };
}
