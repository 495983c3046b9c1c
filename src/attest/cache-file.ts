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
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalize } from "../evidence/index.ts";
import { replaceFileSync } from "../log/durable.ts";
import { verifySignature, type CheckpointSigner, type SignatureAlgorithm } from "../signer/index.ts";
import { sha256Hex } from "./digest.ts";
import { HashCache, type Entry } from "./hash-cache.ts";

export const CACHE_FORMAT = "ato-hash-cache/1";
export const cacheFiles = (attestDir: string) => ({ data: join(attestDir, "hash-cache.json"), sig: join(attestDir, "hash-cache.json.sig") });

export interface CacheTrust {
  algorithm: SignatureAlgorithm;
  spkiDer: Uint8Array;
}

const KEY = /^\d+:\d+:\d+:\d+$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** The cache saved in `attestDir`, if it is whole and signed by `trust`; else an empty one and the reason, said once. */
export function loadHashCache(attestDir: string, trust: CacheTrust | null, say: (m: string) => void): HashCache {
  const f = cacheFiles(attestDir);
  if (!existsSync(f.data)) return new HashCache();
  const ignore = (why: string) => {
    say(`hash cache ${f.data} ignored (${why}): every file is read again`);
    return new HashCache();
  };
  if (!trust) return ignore("the token's key could not be read to check its signature");
  let bytes: Buffer, sig: Buffer;
  try {
    bytes = readFileSync(f.data);
    sig = readFileSync(f.sig);
  } catch (e) {
    return ignore(`cannot read it or its signature: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!verifySignature(trust.spkiDer, trust.algorithm, bytes, sig)) return ignore("its signature does not match the token's key");
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    return ignore("not JSON");
  }
  const d = doc as { format?: unknown; key_sha256?: unknown; entries?: unknown };
  if (d.format !== CACHE_FORMAT || !Array.isArray(d.entries)) return ignore(`not a ${CACHE_FORMAT} document`);
  if (d.key_sha256 !== sha256Hex(trust.spkiDer)) return ignore("it names another key");
  const entries: [string, Entry][] = [];
  for (const e of d.entries as unknown[]) {
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
  const f = cacheFiles(attestDir);
  const entries = cache.saved().map(([k, e]) => [k, e.path, e.ctimeNs.toString(), e.sha256]);
  const bytes = Buffer.from(canonicalize({ format: CACHE_FORMAT, key_sha256: sha256Hex(signer.publicKeySpkiDer()), entries }) + "\n");
  const sig = signer.sign(bytes);
  // The signature first: a crash between the two leaves a data file its signature does not match, which is ignored.
  replaceFileSync(f.sig, sig, { mode: 0o640, what: "the hash cache's signature" });
  replaceFileSync(f.data, bytes, { mode: 0o640, what: "the hash cache" });
  return true;
}
