/**
 * resolveConfig(): the effective configuration. For each setting the first of these that is given wins:
 * flag, environment variable, config file, default. An invalid value is one AtoError("CONFIG") line naming the
 * setting, where it came from and what is allowed. Secrets are never quoted: they are not settings with a
 * parser (see pin() and key() below), and their errors name the variable only.
 */
import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { AtoError, isAtoError } from "../errors.ts";
import { loadKey, SEAL_KEY_ENV, TOKEN_KEY_ENV } from "../mask/keys.ts";
import { defaultConfig } from "./defaults.ts";
import { readConfigFile, type FileValue } from "./_file.ts";
import { PIN_ENV, SETTINGS, type Setting } from "./settings.ts";
import type { AgentConfig } from "./types.ts";
import { Invalid } from "./_values.ts";

export type Flags = Record<string, string | boolean | string[] | undefined>;
export type Env = Record<string, string | undefined>;

export interface ConfigSources {
  /** Parsed command-line flags by kebab-case name (citty's args). */
  flags: Flags;
  env: Env;
  /** Config file path; default flags.config, then $ATO_CONFIG. */
  file?: string;
}

/** Where a value was found: a flag, a variable, or a variable in the config file. */
interface Found {
  raw: string;
  name: string;
  from: string;
}

export function resolveConfig({ flags, env, file }: ConfigSources): AgentConfig {
  const configFile = file ?? flagText(flags.config) ?? (env.ATO_CONFIG || undefined);
  const fileValues = configFile ? readConfigFile(configFile) : new Map<string, FileValue>();
  const layers = { flags, env, fileValues, configFile };
  const get = <T>(s: Setting<T>): T | undefined => {
    const found = find(s, layers);
    return found === undefined ? undefined : parse(s, found);
  };

  const d = defaultConfig();
  const threshold = get(SETTINGS.spikeThreshold) ?? d.spike.threshold;
  const tokens = get(SETTINGS.tokens);
  const sealing = get(SETTINGS.sealing);
  const tokenKey = key(TOKEN_KEY_ENV, layers);
  const sealKey = key(SEAL_KEY_ENV, layers);
  if (tokens && !tokenKey) throw missingKey("tokens (--tokens, ATO_TOKENS)", TOKEN_KEY_ENV);
  if (sealing && !sealKey) throw missingKey("sealing (--seal, ATO_SEAL)", SEAL_KEY_ENV);

  return {
    ifaces: get(SETTINGS.ifaces) ?? d.ifaces,
    mode: get(SETTINGS.mode) ?? d.mode,
    pinDir: get(SETTINGS.pinDir) ?? d.pinDir,
    bpfObject: get(SETTINGS.bpfObject),
    maxFlows: get(SETTINGS.maxFlows) ?? d.maxFlows,
    auditDir: get(SETTINGS.auditDir) ?? d.auditDir,
    listen: get(SETTINGS.listen) ?? d.listen,
    intervalMs: get(SETTINGS.intervalMs) ?? d.intervalMs,
    checkpointEvery: get(SETTINGS.checkpointEvery) ?? d.checkpointEvery,
    checkpointSeconds: get(SETTINGS.checkpointSeconds) ?? d.checkpointSeconds,
    idleTimeoutSeconds: get(SETTINGS.idleTimeoutSeconds) ?? d.idleTimeoutSeconds,
    pkcs11: {
      modulePath: get(SETTINGS.modulePath) ?? d.pkcs11.modulePath,
      tokenLabel: get(SETTINGS.tokenLabel),
      keyLabel: get(SETTINGS.keyLabel) ?? d.pkcs11.keyLabel,
      pin: pin(layers),
    },
    masking: {
      ipv4Prefix: get(SETTINGS.ipv4Prefix) ?? d.masking.ipv4Prefix,
      ipv6Prefix: get(SETTINGS.ipv6Prefix) ?? d.masking.ipv6Prefix,
      keepPorts: get(SETTINGS.keepPorts) ?? d.masking.keepPorts,
      simd: get(SETTINGS.simd) ?? d.masking.simd,
      // A key switches its feature on unless the feature is explicitly off.
      tokenKey: tokens === false ? undefined : tokenKey,
      sealKey: sealing === false ? undefined : sealKey,
    },
    features: {
      tokens: tokens ?? tokenKey !== undefined,
      sealing: sealing ?? sealKey !== undefined,
      timingAudit: get(SETTINGS.timingAudit) ?? d.features.timingAudit,
      spikeGuard: threshold > 0,
    },
    spike: { threshold, windowMs: get(SETTINGS.spikeWindowMs) ?? d.spike.windowMs },
    timing: {
      minSamples: get(SETTINGS.timingMinSamples) ?? d.timing.minSamples,
      tscore: get(SETTINGS.tscore) ?? d.timing.tscore,
    },
    configFile,
  };
}

interface Layers {
  flags: Flags;
  env: Env;
  fileValues: Map<string, FileValue>;
  configFile?: string;
}

function find<T>(s: Setting<T>, { flags, env, fileValues, configFile }: Layers): Found | undefined {
  const flag = s.flag ? flagText(flags[s.flag]) : undefined;
  if (flag !== undefined) return { raw: flag, name: `--${s.flag}`, from: "flag" };
  for (const name of s.env) {
    const value = env[name];
    if (value !== undefined && value !== "") return { raw: value, name, from: "environment" };
  }
  for (const name of s.env) {
    const f = fileValues.get(name);
    if (f !== undefined && f.value !== "") return { raw: f.value, name, from: fileOrigin(configFile!, f) };
  }
  return undefined;
}

function parse<T>(s: Setting<T>, found: Found): T {
  try {
    return s.parse(found.raw, found.name);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    throw new AtoError(`${found.name} must be ${e.expected}; got '${found.raw}' (from ${found.from})`, "CONFIG");
  }
}

/** A flag's value as text: repeated flags joined with commas, booleans as true/false, "" as not given. */
function flagText(v: Flags[string]): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (Array.isArray(v)) return v.length ? v.join(",") : undefined;
  return String(v);
}

function fileOrigin(path: string, f: FileValue): string {
  return f.line ? `file ${path} line ${f.line}` : `file ${path}`;
}

/** The PIN: PKCS11_PIN, or PKCS11_PIN_FILE's first line; environment before file. */
function pin(layers: Layers): string | undefined {
  const { env, fileValues, configFile } = layers;
  const fileName = `${PIN_ENV}_FILE`;
  const inEnv = Boolean(env[PIN_ENV] || env[fileName]);
  const source: Env = inEnv ? env : { [PIN_ENV]: fileValues.get(PIN_ENV)?.value, [fileName]: fileValues.get(fileName)?.value };
  const from = inEnv ? "environment" : `file ${configFile}`;
  if (source[PIN_ENV] && source[fileName]) throw new AtoError(`set ${PIN_ENV} or ${fileName}, not both (from ${from})`, "CONFIG");
  if (source[PIN_ENV]) return source[PIN_ENV];
  const path = source[fileName];
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    throw new AtoError(`${fileName} must name a readable file; cannot read ${path} (${errno ?? "error"}) (from ${from})`, "CONFIG", { cause });
  }
}

/** A token or sealing key from NAME / NAME_FILE: the environment's pair if it sets either, else the file's. */
function key(name: string, { env, fileValues, configFile }: Layers): KeyObject | undefined {
  const fileName = `${name}_FILE`;
  const inEnv = Boolean(env[name] || env[fileName]);
  const source: Env = inEnv ? env : { [name]: fileValues.get(name)?.value, [fileName]: fileValues.get(fileName)?.value };
  try {
    return loadKey(name, source);
  } catch (e) {
    if (!isAtoError(e)) throw e;
    throw new AtoError(`${e.message} (from ${inEnv ? "environment" : `file ${configFile}`})`, e.code, { cause: e });
  }
}

function missingKey(feature: string, name: string): AtoError {
  return new AtoError(`${feature} is on but there is no key: set ${name} or ${name}_FILE (make one with: openssl rand -hex 32)`, "CONFIG");
}
