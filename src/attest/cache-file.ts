/**
 * The hash cache kept across operations: <attest dir>/hash-cache.json, its entries as the in-memory cache keys
 * them ((dev, inode, mtime, size) → path, ctime, SHA-256), and hash-cache.json.sig, the PKCS#11 key's signature
 * of those bytes. Read back, every entry is still checked against the file's path and ctime before it is used
 * (hash-cache.ts), exactly as one made in this process.
 *
 * Why signed: an entry that matches a file's current stat is believed without reading the file. Anyone who can
 * write the audit directory could otherwise put the old hash beside a changed file's new ctime, and the next
 * operation's "before" would repeat the old hash, hiding a change made between two operations. Only a file
 * signed by the token's key is used; one that is absent, unsigned, signed by another key, or malformed in any
 * way is ignored whole with one log line (the operation then reads every file it hashes), never trusted in part.
 * Written durably (temp, fsync, rename, fsync the directory) only when a signer is at hand; otherwise the file
 * on disk stays as it was, and its entries stay valid only for files whose stat has not moved.
 */
import { join } from "node:path";
import type { CheckpointSigner } from "../signer/index.ts";
import { HashCache, type Entry } from "./hash-cache.ts";
import { loadSigned, saveSigned, type Trust } from "./signed-file.ts";

export const CACHE_FORMAT = "ato-hash-cache/1";
export const cacheFile = (attestDir: string) => join(attestDir, "hash-cache.json");
export type CacheTrust = Trust;

const KEY = /^\d+:\d+:\d+:\d+$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** The cache saved in `attestDir`, if it is whole and signed by `trust`; else an empty one and the reason, said once. */
export function loadHashCache(attestDir: string, trust: CacheTrust | null, say: (m: string) => void): HashCache {
  const path = cacheFile(attestDir);
  const ignore = (why: string) => {
    say(`hash cache ${path} ignored (${why}): every file is read again`);
    return new HashCache();
  };
  const got = loadSigned(path, CACHE_FORMAT, trust);
  if ("absent" in got) return new HashCache();
  if ("ignored" in got) return ignore(got.ignored);
  if (!Array.isArray(got.doc.entries)) return ignore("it has no entries");
  const entries: [string, Entry][] = [];
  for (const e of got.doc.entries as unknown[]) {
    if (!Array.isArray(e) || e.length !== 4) return ignore("an entry is not [key, path, ctime, sha256]");
    const [key, path, ctime, sha256] = e as unknown[];
    if (typeof key !== "string" || !KEY.test(key) || typeof path !== "string" || !path.startsWith("/") || typeof ctime !== "string" || !/^\d+$/.test(ctime) || typeof sha256 !== "string" || !HEX64.test(sha256)) {
      return ignore("an entry is malformed");
    }
    entries.push([key, { path, ctimeNs: BigInt(ctime), sha256 }]);
  }
  return HashCache.from(entries);
}

/** Saves `cache` signed by `signer`; false (nothing written) without a signer. Throws AtoError("IO"/"HSM"). */
export function saveHashCache(attestDir: string, cache: HashCache, signer: CheckpointSigner | null): boolean {
  if (!signer) return false;
  const entries = cache.saved().map(([k, e]) => [k, e.path, e.ctimeNs.toString(), e.sha256]);
  saveSigned(cacheFile(attestDir), CACHE_FORMAT, { entries }, signer, "the hash cache");
  return true;
}
