/**
 * readSettings(): the one resolver every command reads its settings and secrets through. For each setting the
 * first of these that is given wins: flag, environment variable, config file, default. An invalid value is one
 * AtoError("CONFIG") line naming the setting, where it came from and what is allowed. Secrets have no flag; they
 * come from NAME or from the file NAME_FILE names (the environment's pair if it sets either, else the config
 * file's), and their errors name the variable only, never the value.
 */
import { readFileSync } from "node:fs";
import { AtoError, isAtoError } from "../errors.ts";
import { readConfigFile, type FileValue } from "./_file.ts";
import { Invalid } from "./_values.ts";
import { SETTINGS, type Setting, type SettingKey, type SettingValue } from "./table.ts";

export type Flags = Record<string, string | boolean | string[] | undefined>;
export type Env = Record<string, string | undefined>;

export interface ConfigSources {
  /** Parsed command-line flags by kebab-case name (citty's args). */
  flags?: Flags;
  env: Env;
  /** Config file path; default flags.config, then $ATO_CONFIG. */
  file?: string;
}

export interface Settings {
  /** The value, else the default (undefined when the setting has none). */
  get<K extends SettingKey>(key: K): SettingValue<K> | undefined;
  /** Whether the value came from a flag, the environment or the file, not from the default. */
  given(key: SettingKey): boolean;
  /** The config file that was read, if any. */
  readonly configFile?: string;
}

/** Where a value was found: a flag, a variable, or a variable in the config file. */
interface Found {
  raw: string;
  name: string;
  from: string;
}

interface Layers {
  flags: Flags;
  env: Env;
  fileValues: Map<string, FileValue>;
  configFile?: string;
}

export function readSettings({ flags = {}, env, file }: ConfigSources): Settings {
  const configFile = file ?? flagText(flags.config) ?? (env.ATO_CONFIG || undefined);
  const layers: Layers = { flags, env, fileValues: configFile ? readConfigFile(configFile) : new Map(), configFile };
  const cache = new Map<SettingKey, { value: unknown; given: boolean }>();
  const lookup = (key: SettingKey) => {
    let hit = cache.get(key);
    if (!hit) {
      const s: Setting = SETTINGS[key];
      const value = s.secret ? secret(s, layers) : plain(s, layers);
      hit = { value: value ?? s.default, given: value !== undefined };
      cache.set(key, hit);
    }
    return hit;
  };
  return {
    get: <K extends SettingKey>(key: K) => lookup(key).value as SettingValue<K> | undefined,
    given: (key) => lookup(key).given,
    configFile,
  };
}

/** One setting from the environment alone, for code that runs outside a command's flags (the agent lock). */
export function settingFromEnv<K extends SettingKey>(key: K, env: Env = process.env): SettingValue<K> | undefined {
  return readSettings({ env: { ...env, ATO_CONFIG: undefined } }).get(key);
}

function plain(s: Setting, layers: Layers): unknown {
  const found = find(s, layers);
  if (found === undefined) return undefined;
  try {
    return s.parse!(found.raw, found.name);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    throw new AtoError(`${found.name} must be ${e.expected}; got '${found.raw}' (from ${found.from})`, "CONFIG");
  }
}

function find(s: Setting, { flags, env, fileValues, configFile }: Layers): Found | undefined {
  const flag = s.flag ? flagText(flags[s.flag]) : undefined;
  if (flag !== undefined) return { raw: flag, name: `--${s.flag}`, from: "flag" };
  for (const name of s.env) {
    const value = env[name];
    if (value !== undefined && value !== "") return { raw: value, name, from: "environment" };
  }
  for (const name of s.env) {
    const f = fileValues.get(name);
    if (f !== undefined && f.value !== "") return { raw: f.value, name, from: f.line ? `file ${configFile} line ${f.line}` : `file ${configFile}` };
  }
  return undefined;
}

/** A flag's value as text: repeated flags joined with commas, booleans as true/false, "" as not given. */
function flagText(v: Flags[string]): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (Array.isArray(v)) return v.length ? v.join(",") : undefined;
  return String(v);
}

/** A secret from NAME or NAME_FILE: the environment's pair if it sets either, else the config file's. */
function secret(s: Setting, { env, fileValues, configFile }: Layers): unknown {
  const name = s.env[0]!;
  const fileName = `${name}_FILE`;
  const inEnv = Boolean(env[name] || env[fileName]);
  const value = inEnv ? env[name] : fileValues.get(name)?.value;
  const path = inEnv ? env[fileName] : fileValues.get(fileName)?.value;
  const from = inEnv ? "environment" : `file ${configFile}`;
  if (value && path) throw new AtoError(`set ${name} or ${fileName}, not both (from ${from})`, "CONFIG");
  if (!value && !path) return undefined;
  try {
    if (value) return s.secret!(value, name);
    return s.secret!(readSecretFile(fileName, path!), `${fileName} (${path})`);
  } catch (e) {
    if (!isAtoError(e)) throw e;
    throw new AtoError(`${e.message} (from ${from})`, e.code, { cause: e });
  }
}

function readSecretFile(fileName: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    throw new AtoError(`${fileName} must name a readable file; cannot read ${path} (${errno ?? "error"})`, "CONFIG", { cause });
  }
}
