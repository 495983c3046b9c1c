/**
 * What a bundle may say. Every string of a bundle is free-form (a command line, a path, an error) and is masked,
 * except the fields of HASHED_FIELDS, which must hold a SHA-256 in hex and nothing else: that allowlist is the
 * only way a value reaches a bundle unmasked, so a secret cannot slip through a field nobody thought of.
 *
 * Masking replaces (1) the values of ato's own secrets, as this process's environment holds them (PKCS11_PIN,
 * PKCS11_SO_PIN, ATO_TOKEN_KEY, ATO_SEAL_KEY, or the contents of the *_FILE they name), wherever they appear, and
 * (2) the value after a secret-looking name (`--password x`, `PIN=x`, `token: x`, `Authorization: Bearer x`).
 */
import { readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { SETTINGS, type Setting } from "../config/index.ts";

export const MASK = "***";

/** The only fields whose values are written as they are: each a 64-digit hex SHA-256. */
export const HASHED_FIELDS: ReadonlySet<string> = new Set(["sha256", "sha256_before", "sha256_after", "bundle_sha256", "sbom_sha256", "signature_sha256", "key_sha256", "checksumValue"]);

const HEX64 = /^[0-9a-f]{64}$/;
const NAMED = /((?:^|[^A-Za-z0-9])-{0,2}(?:[A-Za-z0-9_]*(?:pass(?:word|wd)?|pin|secret|token|api[_-]?key|private[_-]?key|credential|auth)[A-Za-z0-9_]*))(\s*[=:]\s*|\s+)(?:(?:Bearer|Basic)\s+)?("[^"]*"|'[^']*'|[^\s,;&]+)/gi;

/** Secret values of ato's settings present in `env` (directly or through NAME_FILE). Never logged. */
export function environmentSecrets(env: Record<string, string | undefined> = process.env): string[] {
  const out: string[] = [];
  for (const s of Object.values(SETTINGS as Record<string, Setting>)) {
    if (!s.secret) continue;
    for (const name of s.env) {
      const v = env[name];
      if (v) out.push(v);
      const file = env[`${name}_FILE`];
      if (file) {
        try {
          const text = readFileSync(file, "utf8");
          out.push(text, text.replace(/\r?\n$/, ""));
        } catch {
          // unreadable here: the command that needs it reports that; nothing of it can leak from us
        }
      }
    }
  }
  // Longest first, so a secret that contains another is replaced whole; very short values (a 1-digit PIN) would
  // mask half of every line, they are left to the name patterns.
  return [...new Set(out.filter((v) => v.length >= 4))].sort((a, b) => b.length - a.length);
}

export class SecretMask {
  constructor(private readonly secrets: readonly string[] = environmentSecrets()) {}

  text(s: string): string {
    let out = s;
    for (const secret of this.secrets) out = out.split(secret).join(MASK);
    return out.replace(NAMED, (_m, name: string, sep: string) => `${name}${sep}${MASK}`);
  }

  /** A deep copy of `value` with every free-form string masked and every hashed field checked. */
  value<T>(value: T, field = ""): T {
    if (typeof value === "string") {
      if (!HASHED_FIELDS.has(field)) return this.text(value) as T;
      if (!HEX64.test(value)) throw new AtoError(`bundle field '${field}' must be a hex SHA-256; got ${value.length} characters`, "INTERNAL");
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => this.value(v, field)) as T;
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.value(v, k);
      return out as T;
    }
    return value;
  }
}
