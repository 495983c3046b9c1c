/** What `ato run` does when nothing says otherwise: the seeds' paths and ports, metrics on this host only. */
import { DEFAULT_LISTEN } from "../metrics/listen.ts";
import type { AgentConfig } from "./types.ts";

export const DEFAULT_PIN_DIR = "/sys/fs/bpf/ato";
export const DEFAULT_AUDIT_DIR = "/var/log/audit";
export const DEFAULT_MODULE_PATH = "/usr/lib/softhsm/libsofthsm2.so";
export const DEFAULT_KEY_LABEL = "ato-ed25519";

/** A fresh copy of the defaults. */
export function defaultConfig(): AgentConfig {
  return {
    ifaces: [],
    mode: "auto",
    pinDir: DEFAULT_PIN_DIR,
    maxFlows: 65536,
    auditDir: DEFAULT_AUDIT_DIR,
    listen: DEFAULT_LISTEN,
    intervalMs: 1000,
    checkpointEvery: 1000,
    checkpointSeconds: 10,
    idleTimeoutSeconds: 60,
    pkcs11: { modulePath: DEFAULT_MODULE_PATH, keyLabel: DEFAULT_KEY_LABEL },
    masking: { ipv4Prefix: 24, ipv6Prefix: 48, keepPorts: "none", simd: "auto" },
    features: { tokens: false, sealing: false, timingAudit: false, spikeGuard: false },
    spike: { threshold: 0, windowMs: 1000 },
    timing: { minSamples: 32, tscore: 4 },
  };
}
