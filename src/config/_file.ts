/**
 * The config file (`--config FILE` or ATO_CONFIG) holds the same names as the environment, in either form:
 *
 *   env-file (like compose's .env)          JSON (the file starts with "{")
 *     # comment                               { "XDP_INTERFACE": "eth0,eth1",
 *     XDP_INTERFACE=eth0,eth1                   "XDP_MODE": "drv",
 *     export XDP_MODE=drv                       "ATO_CHECKPOINT_EVERY": 5000,
 *     HSM_KEY_LABEL="ato ed25519"               "ATO_TIMING_AUDIT": true,
 *     ATO_CHECKPOINT_EVERY=5000 # records       "ATO_MASK_KEEP_PORTS": [80, 443] }
 *
 * Env-file values may be quoted ('…' or "…", taken literally, no ${} expansion); an unquoted value ends at " #".
 * JSON values are strings, numbers, booleans or lists (joined with commas). Relative paths are relative to the
 * working directory. Names the file does not know are ignored (compose's .env holds other services' settings),
 * unless they are one typo away from a known name.
 */
import { readFileSync } from "node:fs";
import { AtoError, type AtoErrorCode } from "../errors.ts";
import { knownNames } from "./table.ts";

export interface FileValue {
  value: string;
  /** env-file form: the line it came from. */
  line?: number;
}

export function readConfigFile(path: string): Map<string, FileValue> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    const code: AtoErrorCode = errno === "ENOENT" ? "NOT_FOUND" : errno === "EACCES" ? "PERMISSION" : "IO";
    throw new AtoError(`config file ${path}: cannot read it (${errno ?? String(cause)})`, code, { cause });
  }
  const values = text.trimStart().startsWith("{") ? fromJson(text, path) : fromEnvFile(text, path);
  checkNames(values, path);
  return values;
}

function fromEnvFile(text: string, path: string): Map<string, FileValue> {
  const out = new Map<string, FileValue>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    // The line is not quoted back: it may hold a PIN.
    if (!m) throw new AtoError(`config file ${path} line ${i + 1}: expected NAME=VALUE`, "CONFIG");
    out.set(m[1]!, { value: unquote(m[2]!, path, i + 1), line: i + 1 });
  });
  return out;
}

function unquote(v: string, path: string, line: number): string {
  const q = v[0];
  if (q === '"' || q === "'") {
    const end = v.indexOf(q, 1);
    if (end < 0 || !/^\s*(#.*)?$/.test(v.slice(end + 1))) throw new AtoError(`config file ${path} line ${line}: unterminated or trailing text after a quoted value`, "CONFIG");
    return v.slice(1, end);
  }
  return v.replace(/\s+#.*$/, "").trim();
}

function fromJson(text: string, path: string): Map<string, FileValue> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // The parser's message may quote the file's text, which may hold a PIN: it is not shown.
    throw new AtoError(`config file ${path}: not valid JSON`, "CONFIG");
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new AtoError(`config file ${path}: expected a JSON object of NAME: value`, "CONFIG");
  const out = new Map<string, FileValue>();
  for (const [name, value] of Object.entries(data)) {
    const scalar = (x: unknown) => typeof x === "string" || typeof x === "number" || typeof x === "boolean";
    if (scalar(value)) out.set(name, { value: String(value) });
    else if (Array.isArray(value) && value.every(scalar)) out.set(name, { value: value.join(",") });
    else throw new AtoError(`config file ${path}: ${name} must be a string, number, boolean or list of them`, "CONFIG");
  }
  return out;
}

function checkNames(values: Map<string, FileValue>, path: string): void {
  const known = knownNames();
  for (const name of values.keys()) {
    if (known.has(name)) continue;
    const near = [...known].find((k) => distance(k, name) <= 2);
    if (near) throw new AtoError(`config file ${path}: unknown setting ${name}; did you mean ${near}?`, "CONFIG");
  }
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
