/**
 * Every setting of `ato run`: its flag, its environment variables (the first one set wins; the config file uses
 * the same names) and how its text is parsed. Defaults live in defaults.ts. Secrets (the PIN, the token and
 * sealing keys) are read in resolve.ts, from variables only: a command line is readable by every user in /proc.
 */
import * as v from "./_values.ts";
import type { SimdChoice, XdpMode } from "./types.ts";

export interface Setting<T> {
  /** kebab-case flag name, without the dashes. */
  flag?: string;
  env: readonly string[];
  parse: v.Parse<T>;
}

const setting = <T>(s: Setting<T>): Setting<T> => s;

export const SETTINGS = {
  ifaces: setting({ flag: "iface", env: ["XDP_INTERFACE"], parse: v.ifaces }),
  mode: setting<XdpMode>({ flag: "mode", env: ["XDP_MODE"], parse: v.oneOf(["auto", "drv", "skb", "hw"] as const) }),
  pinDir: setting({ flag: "pin-dir", env: ["ATO_PIN_DIR", "FLOW_MAP_PATH"], parse: v.pinDir }),
  bpfObject: setting({ flag: "bpf-object", env: ["ATO_BPF_OBJECT"], parse: v.path }),
  maxFlows: setting({ flag: "max-flows", env: ["ATO_MAX_FLOWS"], parse: v.int(1, 16_777_216) }),
  auditDir: setting({ flag: "audit-dir", env: ["ATO_AUDIT_DIR"], parse: v.path }),
  listen: setting({ flag: "listen", env: ["ATO_LISTEN"], parse: v.listen }),
  intervalMs: setting({ flag: "interval-ms", env: ["ATO_INTERVAL_MS"], parse: v.int(10, 60_000) }),
  checkpointEvery: setting({ flag: "checkpoint-every", env: ["ATO_CHECKPOINT_EVERY"], parse: v.int(1, 100_000_000) }),
  checkpointSeconds: setting({ flag: "checkpoint-seconds", env: ["ATO_CHECKPOINT_SECONDS"], parse: v.positive(86_400) }),
  idleTimeoutSeconds: setting({ flag: "idle-timeout", env: ["ATO_IDLE_TIMEOUT"], parse: v.int(1, 604_800) }),
  modulePath: setting({ flag: "module", env: ["PKCS11_MODULE_PATH"], parse: v.path }),
  tokenLabel: setting({ flag: "token-label", env: ["HSM_TOKEN_LABEL"], parse: v.label(32) }),
  keyLabel: setting({ flag: "key-label", env: ["HSM_KEY_LABEL"], parse: v.label(255) }),
  ipv4Prefix: setting({ flag: "ipv4-prefix", env: ["ATO_MASK_IPV4_PREFIX"], parse: v.prefix(4) }),
  ipv6Prefix: setting({ flag: "ipv6-prefix", env: ["ATO_MASK_IPV6_PREFIX"], parse: v.prefix(6) }),
  keepPorts: setting({ flag: "keep-ports", env: ["ATO_MASK_KEEP_PORTS"], parse: v.keepPorts }),
  simd: setting<SimdChoice>({ env: ["ATO_MASK_SIMD"], parse: v.oneOf(["auto", "sse2", "avx2"] as const) }),
  tokens: setting({ flag: "tokens", env: ["ATO_TOKENS"], parse: v.bool }),
  sealing: setting({ flag: "seal", env: ["ATO_SEAL"], parse: v.bool }),
  timingAudit: setting({ flag: "timing", env: ["ATO_TIMING_AUDIT"], parse: v.bool }),
  spikeThreshold: setting({ flag: "spike-threshold", env: ["ATO_SPIKE_THRESHOLD"], parse: v.int(0, 0xffff_ffff) }),
  spikeWindowMs: setting({ flag: "spike-window-ms", env: ["ATO_SPIKE_WINDOW_MS"], parse: v.int(1, 3_600_000) }),
  timingMinSamples: setting({ flag: "timing-min-samples", env: ["ATO_TIMING_MIN_SAMPLES"], parse: v.int(2, 0xffff_ffff) }),
  tscore: setting({ flag: "tscore", env: ["ATO_TSCORE"], parse: v.int(1, 1000) }),
} as const;

/** The PIN: PKCS11_PIN, or a file named by PKCS11_PIN_FILE (Docker and systemd credentials), not both. */
export const PIN_ENV = "PKCS11_PIN";

/** Variables the config file may also hold that are not settings of `ato run` (other commands read them). */
export const OTHER_NAMES = ["PKCS11_SO_PIN", "ATO_LIB_DIR", "ATO_RUN_DIR", "SOFTHSM2_CONF"];

/** Every name the config file understands. */
export function knownNames(): Set<string> {
  const names = Object.values(SETTINGS).flatMap((s) => s.env);
  return new Set([...names, PIN_ENV, `${PIN_ENV}_FILE`, "ATO_TOKEN_KEY", "ATO_TOKEN_KEY_FILE", "ATO_SEAL_KEY", "ATO_SEAL_KEY_FILE", ...OTHER_NAMES]);
}
