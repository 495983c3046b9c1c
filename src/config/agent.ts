/**
 * resolveConfig(): the effective configuration of `ato run` (and of `ato doctor`, which checks it), read through
 * readSettings() and shaped as AgentConfig. The rules that join settings live here: a key switches its feature
 * on unless the feature is explicitly off, and a feature that is on needs its key.
 */
import { AtoError } from "../errors.ts";
import { readSettings, type ConfigSources } from "./resolve.ts";
import { SETTINGS, type SettingKey, type SettingValue } from "./table.ts";
import type { AgentConfig } from "./types.ts";
import { detectOptionsFrom } from "../detect/options.ts";

export function resolveConfig(sources: ConfigSources): AgentConfig {
  const s = readSettings(sources);
  const get = <K extends SettingKey>(k: K) => s.get(k) as SettingValue<K>;
  const tokens = s.given("tokens") ? get("tokens") : undefined;
  const sealing = s.given("sealing") ? get("sealing") : undefined;
  const tokenKey = s.get("tokenKey");
  const sealKey = s.get("sealKey");
  if (tokens && !tokenKey) throw missingKey("tokens (--tokens, ATO_TOKENS)", "tokenKey");
  if (sealing && !sealKey) throw missingKey("sealing (--seal, ATO_SEAL)", "sealKey");
  const threshold = get("spikeThreshold");
  const forward = { sinks: get("forward"), configFile: s.get("forwardConfig") };
  if (forward.sinks.length && !forward.configFile) {
    throw new AtoError(`--forward ${forward.sinks.join(",")} names sinks but there is no forward config: pass --forward-config FILE (or set ATO_FORWARD_CONFIG)`, "CONFIG");
  }
  return {
    ifaces: get("ifaces"),
    mode: get("mode"),
    pinDir: get("pinDir"),
    bpfObject: s.get("bpfObject"),
    maxFlows: get("maxFlows"),
    auditDir: get("auditDir"),
    listen: get("listen"),
    intervalMs: get("intervalMs"),
    checkpointEvery: get("checkpointEvery"),
    checkpointSeconds: get("checkpointSeconds"),
    idleTimeoutSeconds: get("idleTimeoutSeconds"),
    activeTimeoutSeconds: get("activeTimeoutSeconds"),
    conservationEvery: s.get("conservationEvery") ?? checkPeriodIntervals(get("checkpointSeconds"), get("intervalMs")),
    witnesses: get("witnesses"),
    witnessMaxSilenceSeconds: get("witnessMaxSilence"),
    forward,
    retention: {
      rules: get("retention"),
      requireForward: s.given("retentionRequireForward") ? get("retentionRequireForward") : undefined,
      requireWitness: s.given("retentionRequireWitness") ? get("retentionRequireWitness") : undefined,
      checkSeconds: get("retentionCheckSeconds"),
    },
    pkcs11: { modulePath: get("modulePath"), tokenLabel: s.get("tokenLabel"), keyLabel: get("keyLabel"), pin: s.get("pin") },
    masking: {
      ipv4Prefix: get("ipv4Prefix"),
      ipv6Prefix: get("ipv6Prefix"),
      keepPorts: get("keepPorts"),
      simd: get("simd"),
      tokenKey: tokens === false ? undefined : tokenKey,
      sealKey: sealing === false ? undefined : sealKey,
    },
    features: {
      tokens: tokens ?? tokenKey !== undefined,
      sealing: sealing ?? sealKey !== undefined,
      timingAudit: get("timingAudit"),
      spikeGuard: threshold > 0,
    },
    spike: { threshold, windowMs: get("spikeWindowMs") },
    timing: { minSamples: get("timingMinSamples"), tscore: get("tscore") },
    analytics: {
      ipfix: { targets: get("ipfix"), addresses: get("ipfixAddresses"), domain: get("ipfixDomain"), templateSeconds: get("ipfixTemplateSeconds"), templateMessages: get("ipfixTemplateMessages") },
      detect: get("detect") ? detectOptionsFrom({
        detectWarmupCycles: get("detectWarmupCycles"), detectBaselineCycles: get("detectBaselineCycles"), detectSigmas: get("detectSigmas"),
        detectCooldownCycles: get("detectCooldownCycles"), detectMinNewPerSecond: get("detectMinNewPerSecond"), detectMinBytesPerSecond: get("detectMinBytesPerSecond"),
        detectMinFailedPercent: get("detectMinFailedPercent"), detectMinFailedPerSecond: get("detectMinFailedPerSecond"),
        detectMinScanTargets: get("detectMinScanTargets"), detectMaxSeries: get("detectMaxSeries"),
      }) : undefined,
      otlpEndpoint: s.get("otlpEndpoint"),
    },
    configFile: s.configFile,
  };
}

/**
 * The conservation check's default cadence: one checkpoint period in collector intervals, capped at a minute, so
 * a deletion from the flow map is found, and its tamper record appended, before the checkpoint after next covers
 * what a tampering could have hidden. Reading the map costs ~2-3 ms per 4,096 flows (docs/OPERATIONS.md):
 * every interval, that was most of an agent's CPU on a host nobody scrapes.
 */
export function checkPeriodIntervals(checkpointSeconds: number, intervalMs: number): number {
  return Math.max(1, Math.ceil((Math.min(checkpointSeconds, 60) * 1000) / intervalMs));
}

function missingKey(feature: string, key: "tokenKey" | "sealKey"): AtoError {
  const name = SETTINGS[key].env[0];
  return new AtoError(`${feature} is on but there is no key: set ${name} or ${name}_FILE (make one with: openssl rand -hex 32)`, "CONFIG");
}
