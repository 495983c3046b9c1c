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
  return write(value, "$");
}

function write(v: unknown, path: string): string {
  switch (typeof v) {
    case "string":
      if (!v.isWellFormed()) throw bad(path, "a string with a lone surrogate (not valid Unicode, RFC 8785 §3.2.2.2)");
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw bad(path, `the number ${v} (JSON has no NaN or Infinity)`);
      return JSON.stringify(v);
    case "bigint":
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw bad(path, `the bigint ${v}, beyond 2^53 (write it as a string)`);
      return String(Number(v));
    case "boolean":
      return v ? "true" : "false";
    case "object":
      if (v === null) return "null";
      if (Array.isArray(v)) return `[${v.map((x, i) => write(x, `${path}[${i}]`)).join(",")}]`;
      if (!isPlainObject(v)) throw bad(path, `a ${v.constructor?.name ?? "non-plain"} object`);
      return writeObject(v as Record<string, unknown>, path);
    default:
      throw bad(path, `a value of type ${typeof v}`);
  }
}

function writeObject(o: Record<string, unknown>, path: string): string {
  // Array.prototype.sort compares strings by UTF-16 code units, as §3.2.3 requires.
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  const members = keys.map((k) => {
    if (!k.isWellFormed()) throw bad(path, "a member name with a lone surrogate");
    return `${JSON.stringify(k)}:${write(o[k], `${path}.${k}`)}`;
  });
  return `{${members.join(",")}}`;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function bad(path: string, what: string): AtoError {
  return new AtoError(`evidence must be plain JSON; found ${what} at ${path}`, "CORRUPT");
}
