/**
 * Deployment keys for tokens and sealing: 32 bytes given as 64 hex digits or base64 / base64url text, or (from a
 * key file) as 32 raw bytes. src/config reads them from `NAME` or `NAME_FILE`, never from the command line, where
 * every user of the host can read them in /proc.
 *
 * A key is returned as a node:crypto KeyObject, which prints and serialises without its bytes. Error messages
 * name the variable or file, never the value.
 */
import { createSecretKey, type KeyObject } from "node:crypto";
import { AtoError } from "../errors.ts";

export const KEY_BYTES = 32;

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
