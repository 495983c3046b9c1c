/**
 * Every setting of every command, in one table: its flag, its environment names (the first one set wins; the
 * config file uses the same names), how its text is parsed (which also says its type and allowed values), its
 * default, one line of meaning, whether it is a secret, and which commands read it. The CLI help, the config
 * file's known names, `--print-config`, the `.env.example` check and docs/CONFIGURATION.md all come from here.
 *
 * To add a setting:
 *   1. add one entry below (key in camelCase; flag in kebab-case, or none for environment-only settings;
 *      env names ATO_*; a parser from _values.ts; the default, or `defaultText` when the default is a behaviour;
 *      the commands that read it, by the name their help shows, e.g. "witness serve");
 *   2. read it in the command with `readSettings(...).get("yourKey")` and build the command's args with
 *      `commandArgs("your command")` (src/cli/_args.ts);
 *   3. run `bun scripts/config-docs.ts` to regenerate docs/CONFIGURATION.md (test/config/docs.test.ts fails
 *      until you do).
 * A secret (a PIN, a key, a token) has `secret` instead of `parse` and never a flag: a command line is readable
 * by every user of the host in /proc. It is read from NAME or from the file NAME_FILE names, and never printed.
 */
import type { KeyObject } from "node:crypto";
import type { SimdChoice } from "../../ffi/mask.ts";
import { SIGNATURE_ALGORITHMS } from "../evidence/keyid.ts";
import { decodeKey } from "../mask/keys.ts";
import { DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX } from "../mask/prefix.ts";
import { IPFIX_ADDRESSES, type IpfixAddresses } from "../ipfix/exporter.ts";
import { DEFAULT_DETECT } from "../detect/options.ts";
import * as v from "./_values.ts";

/** Commands by the name their help shows. */
export type CommandName = "run" | "forward" | "doctor" | "flows" | "hsm init" | "hsm pubkey" | "hsm info" | "reveal" | "version" | "attest run" | "attest verify" | "collect" | "retire";

/** The masking routine's choices (the setting's list; ffi/mask.ts's type is checked against it). Kept here, not
 * imported from ffi/, so that commands that never mask (ato verify) do not load bun:ffi through their settings. */
export const SIMD_CHOICES = ["auto", "sse2", "avx2"] as const satisfies readonly SimdChoice[];

export const XDP_MODES = ["auto", "drv", "skb", "hw"] as const;
export type XdpMode = (typeof XDP_MODES)[number];
export const FLOW_SORTS = ["packets", "bytes"] as const;
export type FlowSort = (typeof FLOW_SORTS)[number];
/** The token `ato hsm init` creates and the signer looks for when no label is given. */
export const TOKEN_LABEL_FALLBACK = "ato-token";

export interface Setting<T = unknown> {
  /** kebab-case flag, without the dashes; none: environment (and config file) only. */
  flag?: string;
  env: readonly string[];
  parse?: v.Parse<T>;
  /** Instead of parse, for secrets: read from NAME or NAME_FILE, never a flag, never printed. */
  secret?: v.SecretParse<T>;
  default?: T;
  /** The default in words, when it is a behaviour rather than a value. */
  defaultText?: string;
  description: string;
  commands: readonly CommandName[];
  /** The flag may be given more than once (values joined as a list). */
  repeatable?: boolean;
  required?: boolean;
  /** Read outside the resolver, by the code named here (the table still documents it). */
  readBy?: string;
}

/** A 32-byte key: 64 hex digits or base64 in the variable; the same text or 32 raw bytes in the file. */
const KEY = v.secret("32-byte key", decodeKey);
/** A token: the variable's text, or the file's first line (a trailing newline is not part of it). */
const TOKEN = v.secret("token", (input) => (typeof input === "string" ? input : input.toString("utf8").replace(/\r?\n$/, "")));

const setting = <T>(s: Setting<T>): Setting<T> => s;
const AGENT: CommandName[] = ["run", "doctor"];
const HSM: CommandName[] = ["run", "doctor", "hsm init", "hsm pubkey", "hsm info", "attest run", "attest verify", "retire"];
const ATTEST: CommandName[] = ["attest run", "attest verify"];
const EVERY: CommandName[] = ["run", "doctor", "flows", "hsm init", "hsm pubkey", "hsm info", "reveal", "version", "attest run", "attest verify"];

export const SETTINGS = {
  // --- where configuration comes from
  config: setting({ flag: "config", env: ["ATO_CONFIG"], parse: v.path, defaultText: "none", commands: EVERY,
    description: "configuration file: NAME=VALUE lines or a JSON object, with the environment's names" }),

  // --- the kernel side
  ifaces: setting({ flag: "iface", env: ["XDP_INTERFACE"], parse: v.ifaces, default: [] as string[], defaultText: "none (`ato run` needs one)", repeatable: true, commands: AGENT,
    description: "interface(s) to attach the XDP program to" }),
  mode: setting<XdpMode>({ flag: "mode", env: ["XDP_MODE"], parse: v.oneOf(XDP_MODES), default: "auto", commands: ["run"],
    description: "XDP attach mode: auto tries native (drv), then generic (skb), and says which" }),
  pinDir: setting({ flag: "pin-dir", env: ["ATO_PIN_DIR", "FLOW_MAP_PATH"], parse: v.pinDir, default: "/sys/fs/bpf/ato", commands: ["run", "doctor", "flows"],
    description: "bpffs directory of the pinned maps (FLOW_MAP_PATH names the flow map inside it)" }),
  bpfObject: setting({ flag: "bpf-object", env: ["ATO_BPF_OBJECT"], parse: v.path, defaultText: "the copy embedded in the binary", commands: ["run", "doctor", "version", "attest run"],
    description: "XDP object file to load instead of the embedded xdp_audit.o" }),
  maxFlows: setting({ flag: "max-flows", env: ["ATO_MAX_FLOWS"], parse: v.int(1, 16_777_216), default: 65536, commands: ["run"],
    description: "flow map capacity (entries); flows beyond it are counted as overflow" }),
  runDir: setting({ env: ["ATO_RUN_DIR"], parse: v.path, default: "/run/ato", commands: ["run"],
    description: "directory of the locks that keep a second agent off the same pins, interfaces and audit directory" }),

  // --- the evidence log
  auditDir: setting({ flag: "audit-dir", env: ["ATO_AUDIT_DIR"], parse: v.path, default: "/var/log/audit", commands: [...AGENT, ...ATTEST, "hsm init", "hsm pubkey", "hsm info", "retire"],
    description: "directory of signed_evidence.log and its rotated segments (hsm: where its actions are recorded, when a log is there)" }),
  intervalMs: setting({ flag: "interval-ms", env: ["ATO_INTERVAL_MS"], parse: v.int(10, 60_000), default: 1000, commands: ["run"],
    description: "milliseconds between two collector cycles; a cycle reads the flow map when something needs it (a timeout that can have come, --active-timeout 0, --detect, a /metrics scrape within ATO_METRICS_WATCH_SECONDS, the stop)" }),
  checkpointEvery: setting({ flag: "checkpoint-every", env: ["ATO_CHECKPOINT_EVERY"], parse: v.int(1, 100_000_000), default: 1000, commands: ["run"],
    description: "sign a checkpoint after this many records" }),
  checkpointSeconds: setting({ flag: "checkpoint-seconds", env: ["ATO_CHECKPOINT_SECONDS"], parse: v.positive(86_400), default: 10, commands: ["run"],
    description: "sign a checkpoint at least this often, in seconds (with --checkpoint-every: whichever comes first)" }),
  idleTimeoutSeconds: setting({ flag: "idle-timeout", env: ["ATO_IDLE_TIMEOUT"], parse: v.int(1, 604_800), default: 60, commands: ["run"],
    description: "seconds without a packet after which a flow gets its final record (reason idle) and leaves the map (NetFlow's inactive timeout)" }),
  activeTimeoutSeconds: setting({ flag: "active-timeout", env: ["ATO_ACTIVE_TIMEOUT"], parse: v.int(0, 604_800), default: 60, commands: ["run"],
    description: "seconds a flow stays active before a record of its growth (reason active), from its start or its last record (NetFlow's active timeout); 0: a record every interval for every flow that grew (reason interval)" }),

  // --- witnesses
  witnesses: setting({ flag: "witness", env: ["ATO_WITNESS"], parse: v.witnesses, default: [] as string[], defaultText: "none", repeatable: true, commands: ["run", "retire"],
    description: "witness to send every signed checkpoint to, as URL=VERIFIER_KEY (the key its `ato witness init` printed)" }),
  witnessMaxSilence: setting({ flag: "witness-max-silence", env: ["ATO_WITNESS_MAX_SILENCE"], parse: v.int(1, 604_800), default: 300, commands: ["run"],
    description: "seconds without a cosignature from a witness before /readyz names it" }),

  // --- forwarding (the sinks themselves are described in the forward config file)
  forward: setting({ flag: "forward", env: ["ATO_FORWARD"], parse: v.sinkNames, default: [] as string[], defaultText: "none", repeatable: true, commands: ["run", "retire"],
    description: "sink of the forward config to copy every log line to, run beside the agent as `ato forward` (needs --forward-config)" }),
  forwardConfig: setting({ flag: "forward-config", env: ["ATO_FORWARD_CONFIG"], parse: v.path, defaultText: "none", commands: ["run", "retire"],
    description: "forward config file (JSON: state_dir, sinks, batch, retry, listen) that --forward's sink names refer to" }),

  // --- retention by class (src/retain)
  retention: setting({ flag: "retention", env: ["ATO_RETENTION"], parse: v.retentionRules, default: [] as string[], defaultText: "none: nothing is deleted", repeatable: true, commands: ["run", "retire"],
    description: "how long records of a class are kept, as CLASS=DURATION (s, m, h, d), e.g. internal=30d,restricted=365d; a rotated segment is retired once every class in it is past its rule (a class without a rule is kept forever)" }),
  retentionRequireForward: setting({ flag: "retention-require-forward", env: ["ATO_RETENTION_REQUIRE_FORWARD"], parse: v.bool, defaultText: "on when forwarding is configured", commands: ["run", "retire"],
    description: "retire a segment only once every configured forwarding sink has acknowledged past it (its durable cursor)" }),
  retentionRequireWitness: setting({ flag: "retention-require-witness", env: ["ATO_RETENTION_REQUIRE_WITNESS"], parse: v.bool, defaultText: "on when witnesses are configured", commands: ["run", "retire"],
    description: "retire a segment only once a configured witness has cosigned a checkpoint covering its last line" }),
  retentionCheckSeconds: setting({ flag: "retention-check-seconds", env: ["ATO_RETENTION_CHECK_SECONDS"], parse: v.int(10, 604_800), default: 3600, commands: ["run"],
    description: "seconds between retention passes in ato run (one also follows every rotation)" }),
  dryRun: setting({ flag: "dry-run", env: [], parse: v.bool, default: false, commands: ["retire"],
    description: "print what would be retired and why the other segments are kept, delete nothing" }),

  // --- metrics
  listen: setting({ flag: "listen", env: ["ATO_LISTEN"], parse: v.listen, default: "127.0.0.1:9400", commands: AGENT,
    description: "address of /metrics, /healthz, /readyz and /checkpoint" }),

  // --- the HSM
  modulePath: setting({ flag: "module", env: ["PKCS11_MODULE_PATH"], parse: v.path, default: "/usr/lib/softhsm/libsofthsm2.so", commands: HSM,
    description: "PKCS#11 module (shared library) of the HSM" }),
  tokenLabel: setting({ flag: "token-label", env: ["HSM_TOKEN_LABEL"], parse: v.label(32), commands: HSM,
    defaultText: `${TOKEN_LABEL_FALLBACK}, else the first initialised token (hsm init creates ${TOKEN_LABEL_FALLBACK})`,
    description: "label of the token that holds the signing key" }),
  keyLabel: setting({ flag: "key-label", env: ["HSM_KEY_LABEL"], parse: v.label(255), default: "ato-ed25519", commands: ["run", "doctor", "hsm init", "hsm pubkey", ...ATTEST, "retire"],
    defaultText: "ato-ed25519 (hsm init --key-type ecdsa-p256: ato-ecdsa-p256)",
    description: "label of the checkpoint signing key pair" }),
  keyType: setting({ flag: "key-type", env: [], parse: v.oneOf(SIGNATURE_ALGORITHMS), default: "ed25519", commands: ["hsm init"],
    description: "algorithm of a key pair hsm init generates (ecdsa-p256 for HSMs without EdDSA)" }),
  pin: setting({ env: ["PKCS11_PIN"], secret: v.pin, commands: HSM,
    description: "user PIN of the token that holds the signing key" }),
  soPin: setting({ env: ["PKCS11_SO_PIN"], secret: v.pin, commands: ["hsm init"],
    description: "security officer PIN, to create the token" }),
  softhsmConf: setting({ env: ["SOFTHSM2_CONF"], parse: v.path, defaultText: "SoftHSM's own (/etc/softhsm/softhsm2.conf)", commands: HSM, readBy: "the SoftHSM module itself",
    description: "SoftHSM's configuration file: where its tokens live" }),

  // --- masking
  ipv4Prefix: setting({ flag: "ipv4-prefix", env: ["ATO_MASK_IPV4_PREFIX"], parse: v.prefix(4), default: DEFAULT_IPV4_PREFIX, commands: ["run"],
    description: "IPv4 addresses in records keep this many leading bits" }),
  ipv6Prefix: setting({ flag: "ipv6-prefix", env: ["ATO_MASK_IPV6_PREFIX"], parse: v.prefix(6), default: DEFAULT_IPV6_PREFIX, commands: ["run"],
    description: "IPv6 addresses in records keep this many leading bits" }),
  keepPorts: setting({ flag: "keep-ports", env: ["ATO_MASK_KEEP_PORTS"], parse: v.keepPorts, default: "none", commands: ["run"],
    description: "L4 ports kept in records; the others are removed" }),
  simd: setting({ env: ["ATO_MASK_SIMD"], parse: v.oneOf(SIMD_CHOICES), default: "auto", commands: ["run"],
    description: "masking routine: auto chooses by CPU (AVX2 where it has it); sse2 or avx2 force one" }),
  tokens: setting({ flag: "tokens", env: ["ATO_TOKENS"], parse: v.bool, defaultText: "on when ATO_TOKEN_KEY is set", commands: ["run"],
    description: "add keyed address tokens (HMAC-SHA-256), to correlate hosts without their addresses" }),
  tokenKey: setting<KeyObject>({ env: ["ATO_TOKEN_KEY"], secret: KEY, commands: ["run"],
    description: "32-byte key of the address tokens, 64 hex digits or base64 (openssl rand -hex 32)" }),
  sealing: setting({ flag: "seal", env: ["ATO_SEAL"], parse: v.bool, defaultText: "on when ATO_SEAL_KEY is set", commands: ["run"],
    description: "seal the unmasked fields of each record (AES-256-GCM), for ato reveal" }),
  sealKey: setting<KeyObject>({ env: ["ATO_SEAL_KEY"], secret: KEY, commands: ["run", "reveal"],
    description: "32-byte sealing key, 64 hex digits or base64 (openssl rand -hex 32)" }),

  // --- detection in the kernel
  timingAudit: setting({ flag: "timing", env: ["ATO_TIMING_AUDIT"], parse: v.bool, default: false, commands: ["run"],
    description: "flag packets whose inter-arrival time is an outlier (|t| >= --tscore)" }),
  timingMinSamples: setting({ flag: "timing-min-samples", env: ["ATO_TIMING_MIN_SAMPLES"], parse: v.int(2, 0xffff_ffff), default: 32, commands: ["run"],
    description: "inter-arrival gaps a flow needs before the timing audit can flag it" }),
  tscore: setting({ flag: "tscore", env: ["ATO_TSCORE"], parse: v.int(1, 1000), default: 4, commands: ["run"],
    description: "timing audit threshold: flag when |t| reaches this" }),
  spikeThreshold: setting({ flag: "spike-threshold", env: ["ATO_SPIKE_THRESHOLD"], parse: v.int(0, 0xffff_ffff), default: 0, commands: ["run"],
    description: "packets of one flow within a spike window that raise a spike event; 0 turns the spike guard off" }),
  spikeWindowMs: setting({ flag: "spike-window-ms", env: ["ATO_SPIKE_WINDOW_MS"], parse: v.int(1, 3_600_000), default: 1000, commands: ["run"],
    description: "length of the spike guard's window, in milliseconds" }),

  // --- IPFIX export (src/ipfix)
  ipfix: setting({ flag: "ipfix", env: ["ATO_IPFIX"], parse: v.ipfixTargets, default: [] as string[], defaultText: "none", repeatable: true, commands: ["run"],
    description: "IPFIX collector to export flow records to, udp://HOST:PORT or tcp://HOST:PORT (IPv6 in brackets)" }),
  ipfixAddresses: setting<IpfixAddresses>({ flag: "ipfix-addresses", env: ["ATO_IPFIX_ADDRESSES"], parse: v.oneOf(IPFIX_ADDRESSES), default: "masked", commands: ["run"],
    description: "addresses in IPFIX records: masked as in evidence (host bits zeroed to the prefixes), or unmasked for a collector inside the trust boundary" }),
  ipfixDomain: setting({ flag: "ipfix-domain", env: ["ATO_IPFIX_DOMAIN"], parse: v.int(0, 0xffff_ffff), default: 1, commands: ["run"],
    description: "IPFIX observation domain ID in every message header" }),
  ipfixTemplateSeconds: setting({ flag: "ipfix-template-seconds", env: ["ATO_IPFIX_TEMPLATE_SECONDS"], parse: v.int(1, 86_400), default: 600, commands: ["run"],
    description: "over UDP, templates are sent again after this many seconds" }),
  ipfixTemplateMessages: setting({ flag: "ipfix-template-messages", env: ["ATO_IPFIX_TEMPLATE_MESSAGES"], parse: v.int(1, 1_000_000), default: 1000, commands: ["run"],
    description: "over UDP, templates are sent again after this many messages" }),

  // --- anomaly detection on flows (src/detect)
  detect: setting({ flag: "detect", env: ["ATO_DETECT"], parse: v.bool, default: false, commands: ["run"],
    description: "detect anomalies in each cycle's map reading (new connections/s, bytes/s, failed TCP share, scans) and record them as evidence; a live flow's growth is judged within an interval, whatever the active timeout" }),
  detectWarmupCycles: setting({ flag: "detect-warmup-cycles", env: ["ATO_DETECT_WARMUP_CYCLES"], parse: v.int(1, 1_000_000), default: DEFAULT_DETECT.warmupCycles, commands: ["run"],
    description: "collection cycles the detectors only learn before any anomaly may fire" }),
  detectBaselineCycles: setting({ flag: "detect-baseline-cycles", env: ["ATO_DETECT_BASELINE_CYCLES"], parse: v.int(1, 1_000_000), default: 39, commands: ["run"],
    description: "memory of the EWMA baselines in cycles N (weight of the newest cycle 2/(N+1))" }),
  detectSigmas: setting({ flag: "detect-sigmas", env: ["ATO_DETECT_SIGMAS"], parse: v.int(1, 100), default: DEFAULT_DETECT.sigmas, commands: ["run"],
    description: "an observation fires when above the baseline mean by this many standard deviations (at least this many means)" }),
  detectCooldownCycles: setting({ flag: "detect-cooldown-cycles", env: ["ATO_DETECT_COOLDOWN_CYCLES"], parse: v.int(0, 1_000_000), default: DEFAULT_DETECT.cooldownCycles, commands: ["run"],
    description: "cycles a baseline that fired stays quiet (a lasting attack is one record, not one per cycle)" }),
  detectMinNewPerSecond: setting({ flag: "detect-min-new-per-second", env: ["ATO_DETECT_MIN_NEW_PER_SECOND"], parse: v.int(1, 1e9), default: DEFAULT_DETECT.minNewPerSecond, commands: ["run"],
    description: "new connections per second of one service or source below which nothing fires" }),
  detectMinBytesPerSecond: setting({ flag: "detect-min-bytes-per-second", env: ["ATO_DETECT_MIN_BYTES_PER_SECOND"], parse: v.int(1, 1e15), default: DEFAULT_DETECT.minBytesPerSecond, commands: ["run"],
    description: "bytes per second of one service or source below which nothing fires" }),
  detectMinFailedPercent: setting({ flag: "detect-min-failed-percent", env: ["ATO_DETECT_MIN_FAILED_PERCENT"], parse: v.int(1, 100), default: DEFAULT_DETECT.minFailedShare * 100, commands: ["run"],
    description: "share of failed TCP connection attempts (SYN without ACK, or RST in reply), in percent, below which nothing fires" }),
  detectMinFailedPerSecond: setting({ flag: "detect-min-failed-per-second", env: ["ATO_DETECT_MIN_FAILED_PER_SECOND"], parse: v.int(1, 1e9), default: DEFAULT_DETECT.minFailedPerSecond, commands: ["run"],
    description: "failed TCP connection attempts per second below which nothing fires" }),
  detectMinScanTargets: setting({ flag: "detect-min-scan-targets", env: ["ATO_DETECT_MIN_SCAN_TARGETS"], parse: v.int(2, 1e9), default: DEFAULT_DETECT.minScanTargets, commands: ["run"],
    description: "distinct destination address and port pairs one source reaches in a cycle below which no scan fires" }),
  detectMaxSeries: setting({ env: ["ATO_DETECT_MAX_SERIES"], parse: v.int(100, 100_000_000), default: DEFAULT_DETECT.maxSeries, commands: ["run"],
    description: "baselines kept (services and sources times measures); the least recently seen go first" }),

  // --- tracing (src/trace)
  otlpEndpoint: setting({ flag: "otlp-endpoint", env: ["ATO_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"], parse: v.httpUrl, defaultText: "none: tracing off, at no cost", commands: ["run", "forward"],
    description: "OTLP/HTTP receiver (base URL, e.g. http://127.0.0.1:4318) to send spans to, as protobuf: one per collection cycle, checkpoint, witness submission and forward batch (`ato run --forward` passes it to its forwarder)" }),

  // --- output and one-off options
  printConfig: setting({ flag: "print-config", env: [], parse: v.bool, default: false, commands: ["run"],
    description: "print the effective configuration, secrets redacted, and exit" }),
  json: setting({ flag: "json", env: [], parse: v.bool, default: false, commands: ["doctor", "flows", "hsm info", "version", "attest verify", "retire"],
    description: "print JSON instead of text" }),
  top: setting({ flag: "top", env: [], parse: v.int(1, 16_777_216), defaultText: "20 in the table; every flow with --json", commands: ["flows"],
    description: "show the N largest flows" }),
  sort: setting<FlowSort>({ flag: "sort", env: [], parse: v.oneOf(FLOW_SORTS), default: "packets", commands: ["flows"],
    description: "order flows by this count, largest first" }),
  out: setting({ flag: "out", env: [], parse: v.path, defaultText: "none (hsm pubkey: standard output)", commands: ["hsm init", "hsm pubkey"],
    description: "write the public key PEM to this file" }),
  seq: setting({ flag: "seq", env: [], parse: v.int(0, Number.MAX_SAFE_INTEGER), required: true, commands: ["reveal"],
    description: "sequence number of the record to reveal" }),

  // --- attestation bundles (ato attest)
  opName: setting({ flag: "name", env: [], parse: v.label(200), required: true, commands: ["attest run"],
    description: "name of the operation, e.g. 'upgrade nginx'" }),
  watch: setting({ flag: "watch", env: ["ATO_ATTEST_WATCH"], parse: v.paths, default: [] as string[], defaultText: "none", repeatable: true, commands: ["attest run"],
    description: "file or directory whose changes during the operation are recorded" }),
  opId: setting({ flag: "op", env: [], parse: v.label(64), required: true, commands: ["attest verify"],
    description: "id of the operation whose bundle to verify (attest-<id>.jsonl)" }),
  attestPubkey: setting({ flag: "pubkey", env: [], parse: v.paths, default: [] as string[], defaultText: "the public key of the token's signing key", repeatable: true, commands: ["attest verify"],
    description: "PEM public key that signed the bundle and the log's checkpoints" }),

  // --- the fleet collector (ato collect)
  collectNats: setting({ flag: "nats", env: ["ATO_COLLECT_NATS"], parse: v.natsUrl, required: true, commands: ["collect"],
    description: "the NATS server whose JetStream stream `ato forward` publishes to" }),
  collectNatsToken: setting({ env: ["ATO_COLLECT_NATS_TOKEN"], secret: TOKEN, commands: ["collect"],
    description: "token the NATS server wants (authorization { token }); never printed" }),
  collectNatsCa: setting({ flag: "nats-ca", env: ["ATO_COLLECT_NATS_CA"], parse: v.path, defaultText: "none (plain TCP)", commands: ["collect"],
    description: "PEM CA to verify the NATS server's certificate with; given, the connection is upgraded to TLS after the server's INFO" }),
  collectNatsCert: setting({ flag: "nats-cert", env: ["ATO_COLLECT_NATS_CERT"], parse: v.path, defaultText: "none", commands: ["collect"],
    description: "PEM client certificate for mutual TLS with the NATS server (with --nats-key)" }),
  collectNatsKey: setting({ flag: "nats-key", env: ["ATO_COLLECT_NATS_KEY"], parse: v.path, defaultText: "none", commands: ["collect"],
    description: "PEM private key file of the client certificate (a path: the key itself is never on the command line)" }),
  collectNatsServerName: setting({ flag: "nats-server-name", env: ["ATO_COLLECT_NATS_SERVER_NAME"], parse: v.label(253), defaultText: "the host of --nats", commands: ["collect"],
    description: "name the NATS server's certificate must carry" }),
  collectStream: setting({ flag: "stream", env: ["ATO_COLLECT_STREAM"], parse: v.label(64), required: true, commands: ["collect"],
    description: "the JetStream stream to consume" }),
  collectOut: setting({ flag: "out", env: ["ATO_COLLECT_OUT"], parse: v.path, required: true, commands: ["collect"],
    description: "directory under which one audit directory per origin is rebuilt" }),
  collectPubkey: setting({ flag: "pubkey", env: ["ATO_COLLECT_PUBKEY"], parse: v.paths, required: true, repeatable: true, commands: ["collect"],
    description: "PEM public key(s) the origins' checkpoints are signed with" }),
  collectDurable: setting({ flag: "durable", env: ["ATO_COLLECT_DURABLE"], parse: v.label(64), default: "ato_collect", commands: ["collect"],
    description: "name of the durable pull consumer (the server keeps its position across restarts)" }),
  collectSubjectPrefix: setting({ flag: "subject-prefix", env: ["ATO_COLLECT_SUBJECT_PREFIX"], parse: v.label(200), default: "ato.evidence", commands: ["collect"],
    description: "the subjects' prefix, as the forward sink's subject_prefix" }),
  collectListen: setting({ flag: "listen", env: ["ATO_COLLECT_LISTEN"], parse: v.listen, defaultText: "none", commands: ["collect"],
    description: "address to serve the per-origin /metrics on" }),
  collectVerifyEvery: setting({ flag: "verify-every", env: ["ATO_COLLECT_VERIFY_EVERY"], parse: v.int(0, 86_400), default: 10, commands: ["collect"],
    description: "seconds between verifications of an origin whose log grew" }),
  collectAckWait: setting({ flag: "ack-wait", env: ["ATO_COLLECT_ACK_WAIT"], parse: v.int(1, 3600), default: 30, commands: ["collect"],
    description: "seconds a delivered message may stay unacked before JetStream delivers it again (fixed when the consumer is made)" }),
  collectOnce: setting({ flag: "once", env: [], parse: v.bool, default: false, commands: ["collect"],
    description: "drain what the stream holds, verify, print one JSON status per origin and exit" }),

  conservationEvery: setting({ flag: "conservation-every", env: ["ATO_CONSERVATION_EVERY"], parse: v.int(0, 3600), commands: ["run"],
    defaultText: "one checkpoint period, at most a minute, in collector intervals (10 with the defaults)",
    description: "run the conservation check (kernel counters against flow map and removed flows) at least every N collector intervals, and in every interval whose cycle read the flow map anyway; when the collector did not read it since the last check, the check sums the map itself (ATO_CONSERVATION_SUM); it also runs at the stop; 0 turns it off" }),
  conservationSum: setting({ env: ["ATO_CONSERVATION_SUM"], parse: v.oneOf(["kernel", "batch"] as const), default: "kernel", commands: ["run"], readBy: "src/attest/agent-operation.ts, at start",
    description: "how the conservation check sums the flow map when the collector did not read it: kernel (a BPF program walks the map, Linux 5.19+; batch where it does not load) or batch (batch lookups summed in user space)" }),

  metricsWatchSeconds: setting({ env: ["ATO_METRICS_WATCH_SECONDS"], parse: v.int(1, 86_400), default: 120, commands: ["run"], readBy: "src/agent/agent.ts, at start",
    description: "seconds after a /metrics scrape during which the collector reads the flow map every interval a frame came (the traffic metrics move every interval); nobody scraping, it reads the map when a flow can be due; a scrape after such a stretch starts a cycle at once" }),

  // --- read before any setting, by the library loader and the agent's re-execution
  reexecExe: setting({ env: ["ATO_REEXEC_EXE"], parse: v.path, defaultText: "/proc/self/exe", commands: ["run"], readBy: "src/cli/gc-timer.ts, at the very start of ato run",
    description: "the file ato run re-executes at its start to turn Bun's GC timer off (docs/runtime.md); only for a test that makes that exec fail: leave it unset" }),
  libDir: setting({ env: ["ATO_LIB_DIR"], parse: v.path, defaultText: "the embedded copies", commands: EVERY, readBy: "ffi/native.ts, when a library is loaded",
    description: "directory to load libbpf.so.1, libatomask.so, libatosha256.so and libatoscan.so from instead of the embedded copies" }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K] extends Setting<infer T> ? T : never;

/** The settings one command reads, in table order. */
export function settingsOf(command: CommandName): [SettingKey, Setting][] {
  return (Object.entries(SETTINGS) as [SettingKey, Setting][]).filter(([, s]) => s.commands.includes(command));
}

/** Every environment name a setting answers to (a secret's NAME_FILE too), in table order. */
export function envNames(): string[] {
  return Object.values(SETTINGS as Record<string, Setting>).flatMap((s) => (s.secret ? [s.env[0]!, `${s.env[0]}_FILE`] : s.env));
}

/** Every name the config file understands. */
export function knownNames(): Set<string> {
  return new Set(envNames());
}
