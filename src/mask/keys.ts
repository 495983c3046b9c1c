/**
 * Deployment keys for tokens and sealing: 32 bytes from the environment (`NAME`, as 64 hex digits or base64 /
 * base64url) or from a file (`NAME_FILE`: the same text, or 32 raw bytes). Never from the command line, where
 * every user of the host can read them in /proc.
 *
 * A key is returned as a node:crypto KeyObject, which prints and serialises without its bytes. Error messages
 * name the variable or file, never the value.
 */
import { createSecretKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { AtoError, type AtoErrorCode } from "../errors.ts";

export const KEY_BYTES = 32;
export const TOKEN_KEY_ENV = "ATO_TOKEN_KEY";
export const SEAL_KEY_ENV = "ATO_SEAL_KEY";

type Env = Record<string, string | undefined>;

/** The key in `name` or `name`_FILE, or undefined when neither is set (the feature is then off). */
export function loadKey(name: string, env: Env = process.env): KeyObject | undefined {
  const value = env[name];
  const file = env[`${name}_FILE`];
  if (value && file) throw new AtoError(`set ${name} or ${name}_FILE, not both`, "CONFIG");
  if (value) return decodeKey(value, name);
  if (file) return decodeKey(readKeyFile(file, `${name}_FILE`), `${name}_FILE (${file})`);
  return undefined;
}

/** Decodes 64 hex digits, base64 / base64url text, or (from a file) 32 raw bytes. */
export function decodeKey(input: string | Uint8Array, source: string): KeyObject {
  const raw = typeof input === "string" ? Buffer.from(input) : Buffer.from(input);
  const text = raw.toString("latin1").trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, "hex")
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
      ? Buffer.from(text, "base64")
      : typeof input !== "string" && raw.length === KEY_BYTES
        ? raw
        : undefined;
  if (!bytes || bytes.length !== KEY_BYTES) {
    throw new AtoError(
      `${source}: expected a ${KEY_BYTES}-byte key as 64 hex digits or base64, found ${raw.length} bytes that are neither ` +
        `(make one with: openssl rand -hex ${KEY_BYTES})`,
      "CONFIG",
    );
  }
  if (bytes.every((b) => b === 0)) throw new AtoError(`${source}: the key is all zero bytes, which is no secret`, "CONFIG");
  return createSecretKey(bytes);
}

function readKeyFile(path: string, source: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    const code: AtoErrorCode = errno === "ENOENT" ? "NOT_FOUND" : errno === "EACCES" ? "PERMISSION" : "IO";
    throw new AtoError(`${source}: expected a readable key file at ${path}, found ${errno ?? "an error"}`, code, { cause });
  }
}
