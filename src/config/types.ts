/** The effective configuration of `ato run`, after flags, environment, config file and defaults. */
import type { KeyObject } from "node:crypto";
import type { SimdChoice } from "../../ffi/mask.ts";
import type { XdpMode } from "./table.ts";
import type { IpfixAddresses } from "../ipfix/exporter.ts";
import type { DetectOptions } from "../detect/options.ts";

export interface AgentConfig {
  /** Interfaces to attach to; empty when none was given (`ato run` then refuses to start). */
  ifaces: string[];
  mode: XdpMode;
  /** bpffs directory of the pinned maps. */
  pinDir: string;
  /** XDP object to load instead of the embedded one. */
  bpfObject?: string;
  /** Flow map capacity. */
  maxFlows: number;
  /** Directory of signed_evidence.log and its segments. */
  auditDir: string;
  /** Metrics server address, normalised ADDR:PORT (IPv6 in brackets). */
  listen: string;
  /** Collector period. */
  intervalMs: number;
  /** A checkpoint is signed after this many records ... */
  checkpointEvery: number;
  /** ... or after this many seconds, whichever comes first. */
  checkpointSeconds: number;
  /** Flows idle longer than this get their final record and are removed from the map. */
  idleTimeoutSeconds: number;
  /** A record for a flow active this long since its start or last record; 0: a record every interval. */
  activeTimeoutSeconds: number;
  /** The conservation check runs at least every this many collector intervals (and at the stop); 0: never. */
  conservationEvery: number;
  /** Witnesses (URL=VERIFIER_KEY) every signed checkpoint is sent to. */
  witnesses: string[];
  /** Seconds without a witness's cosignature before /readyz names it. */
  witnessMaxSilenceSeconds: number;
  /** Sinks of the forward config (forwardConfig) that a child `ato forward` copies the log to; none: no forwarding. */
  forward: { sinks: string[]; configFile?: string };
  /** Retention by class (src/retain): rules, what must hold (undefined: the default), and the cadence of passes. */
  retention: { rules: string[]; requireForward?: boolean; requireWitness?: boolean; checkSeconds: number };
  pkcs11: {
    modulePath: string;
    /** Undefined: the signer's own choice ("ato-token", else the first initialised token). */
    tokenLabel?: string;
    keyLabel: string;
    /** Secret: never printed, logged or put in an error message. */
    pin?: string;
  };
  masking: {
    ipv4Prefix: number;
    ipv6Prefix: number;
    /** Ports kept, in src/mask/ports.ts's grammar ("none", "well-known,8080", "8000-8099"); PortPolicy.parse it. */
    keepPorts: string;
    simd: SimdChoice;
    /** Secret: the HMAC key for address tokens; set when features.tokens is on. */
    tokenKey?: KeyObject;
    /** Secret: the AES-256-GCM key for sealing; set when features.sealing is on. */
    sealKey?: KeyObject;
  };
  features: {
    tokens: boolean;
    sealing: boolean;
    timingAudit: boolean;
    /** On when spike.threshold > 0. */
    spikeGuard: boolean;
  };
  spike: {
    /** Packets per flow per window that make a spike; 0 turns the spike guard off. */
    threshold: number;
    windowMs: number;
  };
  timing: {
    /** Inter-arrival gaps a flow needs before the timing audit can flag it. */
    minSamples: number;
    /** Flag when |t| reaches this. */
    tscore: number;
  };
  /** Flow export and analysis wired into `ato run` (src/agent/analytics.ts). */
  analytics: {
    /** IPFIX collectors (udp:// or tcp://); none: no exporter. */
    ipfix: { targets: string[]; addresses: IpfixAddresses; domain: number; templateSeconds: number; templateMessages: number };
    /** Set when --detect is on. */
    detect?: DetectOptions;
    /** OTLP/HTTP base URL; undefined: tracing off. */
    otlpEndpoint?: string;
  };
  /** The config file that was read, if any. */
  configFile?: string;
}
