/**
 * JSON Canonicalization Scheme, RFC 8785: object members sorted by the UTF-16 code units of
 * their names (§3.2.3), no whitespace (§3.2.1), numbers in ECMAScript's shortest round-trip
 * form (§3.2.2.3) and strings with the minimal JSON escapes (§3.2.2.2). ECMAScript's own
 * JSON.stringify produces exactly those number and string forms, so only the ordering and
 * the I-JSON limits (RFC 7493: finite numbers, well-formed Unicode) are ato's to enforce.
 *
 * Input is restricted to what survives a JSON round trip unchanged: plain objects, arrays,
 * strings, finite numbers, booleans and null. Object members whose value is `undefined` are
 * left out (as JSON.stringify does), so optional fields can be written naturally. A bigint is
 * accepted when it is a safe integer (kernel counters arrive as bigint); beyond 2^53 it would
 * change value in any JSON reader, so it is refused.
 */
import { AtoError } from "../errors.ts";

export function canonicalize(value: unknown): string {
  try {
    return write(value);
  } catch (e) {
    if (e instanceof Bad) throw new AtoError(`evidence must be plain JSON; found ${e.what} at $${e.path.reverse().join("")}`, "CORRUPT");
    throw e;
  }
}

/**
 * A value that cannot be written, with its path collected on the way out (built only when
 * something is wrong: a record's members are written a million times a cycle).
 */
class Bad {
  readonly path: string[] = [];
  constructor(readonly what: string) {}
}

/** Printable ASCII without `"` or `\`: written as it is, between quotes (most evidence strings). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function write(v: unknown): string {
  switch (typeof v) {
    case "string":
      if (PLAIN.test(v)) return `"${v}"`;
      if (!v.isWellFormed()) throw new Bad("a string with a lone surrogate (not valid Unicode, RFC 8785 §3.2.2.2)");
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw new Bad(`the number ${v} (JSON has no NaN or Infinity)`);
      return String(v); // the same shortest round-trip form as JSON.stringify for finite numbers
    case "bigint":
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Bad(`the bigint ${v}, beyond 2^53 (write it as a string)`);
      return String(Number(v));
    case "boolean":
      return v ? "true" : "false";
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) return writeArray(v);
      if (!isPlainObject(v)) throw new Bad(`a ${v.constructor?.name ?? "non-plain"} object`);
      return writeObject(v as Record<string, unknown>);
    default:
      throw new Bad(`a value of type ${typeof v}`);
  }
}

function writeArray(a: unknown[]): string {
  let out = "[";
  for (let i = 0; i < a.length; i++) {
    try {
      out += (i ? "," : "") + write(a[i]);
    } catch (e) {
      if (e instanceof Bad) e.path.push(`[${i}]`);
      throw e;
    }
  }
  return out + "]";
}

function writeObject(o: Record<string, unknown>): string {
  // Array.prototype.sort compares strings by UTF-16 code units, as §3.2.3 requires.
  const keys = Object.keys(o).sort();
  let out = "";
  for (const k of keys) {
    const v = o[k];
    if (v === undefined) continue;
    const name = PLAIN.test(k) ? `"${k}"` : memberName(k);
    let value: string;
    try {
      value = write(v);
    } catch (e) {
      if (e instanceof Bad) e.path.push(`.${k}`);
      throw e;
    }
    out += (out ? "," : "") + name + ":" + value;
  }
  return `{${out}}`;
}

function memberName(k: string): string {
  if (!k.isWellFormed()) throw new Bad("a member name with a lone surrogate");
  return JSON.stringify(k);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
