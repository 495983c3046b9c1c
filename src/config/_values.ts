/**
 * Parsers for setting values given as text (a flag, a variable, a line of the config file). Each returns the
 * value or throws Invalid with what was expected; resolve.ts turns that into one AtoError("CONFIG") line that
 * also names the setting and where the value came from. Each parser also says in words what it takes
 * (`kind`) and, for a choice, which values (`allowed`): the help, the docs table and the errors use the same words.
 */
import { dirname, resolve } from "node:path";
import { PortPolicy } from "../mask/ports.ts";
import { isAtoError } from "../errors.ts";
import { readListen } from "./listen.ts";
import { readTarget } from "../ipfix/target.ts";

export class Invalid {
  constructor(readonly expected: string) {}
}

export interface Parse<T> {
  (raw: string, name: string): T;
  /** What the value is, in a few words: "whole number 10-60000", "path". */
  readonly kind: string;
  readonly allowed?: readonly string[];
}

function parser<T>(kind: string, fn: (raw: string, name: string) => T, allowed?: readonly string[]): Parse<T> {
  return Object.assign(fn, { kind, allowed });
}

export function int(min: number, max: number): Parse<number> {
  return parser(`whole number ${min}-${max}`, (raw) => {
    const n = /^\+?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Invalid(`a whole number from ${min} to ${max}`);
    return n;
  });
}

/** A number above 0 (fractions allowed), at most `max`. */
export function positive(max: number): Parse<number> {
  return parser(`number above 0, at most ${max}`, (raw) => {
    const n = /^\+?(\d+\.?\d*|\.\d+)$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!(n > 0 && n <= max)) throw new Invalid(`a number above 0 and at most ${max}`);
    return n;
  });
}

const TRUE = ["true", "1", "yes", "on"];
const FALSE = ["false", "0", "no", "off"];

export const bool: Parse<boolean> = parser("true or false", (raw) => {
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new Invalid("true or false (or 1/0, yes/no, on/off)");
});

export function oneOf<T extends string>(allowed: readonly T[]): Parse<T> {
  return parser(
    `one of ${allowed.join(", ")}`,
    (raw) => {
      if ((allowed as readonly string[]).includes(raw.trim())) return raw.trim() as T;
      throw new Invalid(`one of ${allowed.join(", ")}`);
    },
    allowed,
  );
}

/** A file or directory path, made absolute against the working directory. */
export const path: Parse<string> = parser("path", (raw) => {
  if (raw.trim() === "" || raw.includes("\0")) throw new Invalid("a path");
  return resolve(raw.trim());
});

/** Paths, comma-separated (a repeatable flag's values are joined with commas), each made absolute. */
export const paths: Parse<string[]> = parser("paths, comma-separated (flag repeatable)", (raw) => {
  const list = raw.split(",").map((p) => p.trim()).filter(Boolean);
  if (list.length === 0 || list.some((p) => p.includes("\0"))) throw new Invalid("one or more paths, comma-separated");
  return [...new Set(list.map((p) => resolve(p)))];
});

/** FLOW_MAP_PATH names the pinned map itself (compose's /sys/fs/bpf/ato/flow_map): the pin directory is its parent. */
export const pinDir: Parse<string> = parser("path (FLOW_MAP_PATH: the map, its directory is used)", (raw, name) => {
  const p = path(raw, name);
  return name === "FLOW_MAP_PATH" ? dirname(p) : p;
});

/** Interface names, comma- or space-separated (repeated flags arrive joined with commas). */
export const ifaces: Parse<string[]> = parser("interface names, comma-separated (flag repeatable)", (raw) => {
  const names = raw.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0 || names.some((n) => !/^[\w.@:-]{1,15}$/.test(n))) {
    throw new Invalid("interface names (1-15 letters, digits or . _ @ : -), comma-separated");
  }
  return [...new Set(names)];
});

/** Names of forwarding sinks (the `name` of a sink in the forward config), comma- or space-separated. */
export const sinkNames: Parse<string[]> = parser("sink names, comma-separated (flag repeatable)", (raw) => {
  const names = raw.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0 || names.some((n) => !/^[a-z][a-z0-9_-]{0,31}$/.test(n))) {
    throw new Invalid("sink names (a lower-case letter, then up to 31 letters, digits, _ or -), comma-separated");
  }
  return [...new Set(names)];
});

/** Retention rules as CLASS=DURATION (a whole number and s, m, h or d), comma- or space-separated (flag repeatable). */
export const retentionRules: Parse<string[]> = parser("CLASS=DURATION entries (units s, m, h, d), comma-separated (flag repeatable)", (raw) => {
  const entries = raw.split(/[\s,]+/).filter(Boolean);
  if (entries.some((e) => !/^[a-z][a-z0-9_-]{0,31}=\d{1,9}[smhd]$/.test(e))) throw new Invalid("CLASS=DURATION entries, e.g. internal=30d,restricted=365d (units s, m, h, d)");
  const classes = entries.map((e) => e.slice(0, e.indexOf("=")));
  if (new Set(classes).size !== classes.length) throw new Invalid("one rule per class");
  return entries;
});

/** Witnesses as URL=VERIFIER_KEY, comma- or space-separated (repeated flags arrive joined with commas). */
export const witnesses: Parse<string[]> = parser("URL=VERIFIER_KEY entries, comma-separated (flag repeatable)", (raw) => {
  const entries = raw.split(/[\s,]+/).filter(Boolean);
  if (entries.some((e) => !/^https?:\/\/[^\s=]+=\S+$/.test(e))) {
    throw new Invalid("URL=VERIFIER_KEY entries (http:// or https:// URL, then = and the key `ato witness init` printed)");
  }
  return [...new Set(entries)];
});

/** IPFIX collectors as udp://HOST:PORT or tcp://HOST:PORT, comma- or space-separated (flag repeatable). */
export const ipfixTargets: Parse<string[]> = parser("udp://HOST:PORT or tcp://HOST:PORT entries, comma-separated (flag repeatable)", (raw) => {
  const entries = raw.split(/[\s,]+/).filter(Boolean);
  for (const e of entries) {
    const t = readTarget(e);
    if ("expected" in t) throw new Invalid(t.expected);
  }
  return [...new Set(entries)];
});

/** An http:// or https:// base URL (an OTLP/HTTP receiver). */
export const httpUrl: Parse<string> = parser("http:// or https:// URL", (raw) => {
  let u: URL | undefined;
  try { u = new URL(raw.trim()); } catch { /* judged below */ }
  if (!u || !/^https?:$/.test(u.protocol) || u.search || u.hash) throw new Invalid("an http:// or https:// URL without query or fragment");
  return raw.trim().replace(/\/+$/, "");
});

export const natsUrl: Parse<string> = parser("nats://HOST:PORT", (raw) => {
  if (!/^nats:\/\/[^/?#\s]+:\d+$/.test(raw.trim())) throw new Invalid("nats://HOST:PORT");
  return raw.trim();
});

export const listen: Parse<string> = parser("ADDR:PORT (IPv6 in brackets; a port alone means 127.0.0.1)", (raw) => {
  const r = readListen(raw);
  if ("expected" in r) throw new Invalid(r.expected);
  return r.text;
});

/** A prefix length, "24" or "/24". */
export function prefix(family: 4 | 6): Parse<number> {
  const max = family === 4 ? 32 : 128;
  return parser(`prefix length 0-${max}`, (raw) => {
    const m = /^\/?(\d{1,3})$/.exec(raw.trim());
    if (!m || Number(m[1]) > max) throw new Invalid(`an IPv${family} prefix length from 0 to ${max}`);
    return Number(m[1]);
  });
}

const PORTS = `"none", "all", "well-known", ports 1-65535 or ranges N-M, comma-separated`;
export const keepPorts: Parse<string> = parser(PORTS, (raw) => {
  try {
    return PortPolicy.parse(raw).spec;
  } catch (e) {
    if (!isAtoError(e)) throw e;
    throw new Invalid(PORTS);
  }
});

/** A PKCS#11 label: CK_TOKEN_INFO holds 32 bytes of it. */
export function label(maxBytes: number): Parse<string> {
  return parser(`label of 1-${maxBytes} bytes`, (raw) => {
    if (raw === "" || Buffer.byteLength(raw) > maxBytes) throw new Invalid(`a label of 1 to ${maxBytes} bytes`);
    return raw;
  });
}

/** Secrets: how the text of NAME, or the bytes of the file NAME_FILE names, become the value. */
export interface SecretParse<T> {
  (input: string | Buffer, source: string): T;
  readonly kind: string;
}

export function secret<T>(kind: string, fn: (input: string | Buffer, source: string) => T): SecretParse<T> {
  return Object.assign(fn, { kind });
}

/** A PIN: the variable's text, or the file's first line (a trailing newline is not part of it). */
export const pin: SecretParse<string> = secret("PIN", (input) => (typeof input === "string" ? input : input.toString("utf8").replace(/\r?\n$/, "")));
