/**
 * What the last `ato run` recorded about itself, kept in <attest dir>/last-run.json (signed, signed-file.ts):
 *   config  the settings the run resolved to (redact(): secrets only as "(set)"/"(unset)"), flattened to
 *           dotted names, their SHA-256, and the config file's own settings (secret names as "(set)") and theirs
 *   build   ato's version and commit, the SHA-256 of its binary, of the XDP object it loaded and of the shared
 *           objects embedded in it, and the Debian package that owns the binary, if one does
 * A secret's value is never hashed: a PIN has few enough values that its digest would give it away. So a
 * changed PIN or key shows only when it is set or unset; the HSM and the evidence itself show a wrong one.
 */
import { realpathSync } from "node:fs";
import { canonicalize } from "../evidence/index.ts";
import { readConfigFile } from "../config/_file.ts";
import { redact, SETTINGS, type AgentConfig, type Setting } from "../config/index.ts";
import { commit, VERSION } from "../version.ts";
import { sha256Hex } from "./digest.ts";
import type { HashCache } from "./hash-cache.ts";
import { packageOwnersAsync } from "./provenance.ts";
import { ownParts } from "./sbom.ts";

export const RUN_STATE_FORMAT = "ato-last-run/1";
export const RUN_STATE_NAME = "last-run.json";

export interface ConfigState {
  settings: Record<string, string>;
  settings_sha256: string;
  file: string | null;
  file_settings: Record<string, string> | null;
  file_settings_sha256: string | null;
}

export interface BuildState {
  version: string;
  commit: string;
  /** Part name → its path and SHA-256 (ato, xdp_audit.o, libbpf.so.1, libatomask.so). */
  parts: Record<string, { path: string; sha256: string }>;
  dpkg: { package: string; version: string; architecture: string } | null;
}

/** Nested settings as dotted names; every value as its JSON text, so a list and a string never compare equal. */
function flatten(v: unknown, prefix = "", out: Record<string, string> = {}): Record<string, string> {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (x !== undefined) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) out[prefix] = typeof v === "string" ? v : JSON.stringify(v);
  return out;
}

const secretNames = (): Set<string> => new Set(Object.values(SETTINGS as Record<string, Setting>).filter((s) => s.secret).flatMap((s) => s.env));

/** The config file's ato settings, secrets as "(set)". Throws AtoError("CONFIG"/"NOT_FOUND"/…) as `ato run` would. */
export function fileSettings(path: string): Record<string, string> {
  const known = new Set(Object.values(SETTINGS as Record<string, Setting>).flatMap((s) => [...s.env, ...(s.secret ? s.env.map((e) => `${e}_FILE`) : [])]));
  const secret = secretNames();
  const out: Record<string, string> = {};
  for (const [name, { value }] of [...readConfigFile(path)].sort(([a], [b]) => a.localeCompare(b))) {
    if (!known.has(name)) continue; // another program's setting (a compose .env): ato ignores it
    out[name] = secret.has(name) ? (value === "" ? "(unset)" : "(set)") : value;
  }
  return out;
}

export function configState(cfg: AgentConfig): ConfigState {
  const settings = flatten(redact(cfg));
  const file = cfg.configFile ?? null;
  const fs = file ? fileSettings(file) : null;
  return { settings, settings_sha256: sha256Hex(canonicalize(settings)), file, file_settings: fs, file_settings_sha256: fs ? sha256Hex(canonicalize(fs)) : null };
}

/** ato's own parts as they are now; the binary through `cache` (a 100 MB file is read once per version). */
export async function buildState(cache: HashCache, objectPath: string, withDpkg: boolean): Promise<BuildState> {
  const parts: BuildState["parts"] = {};
  for (const p of ownParts(objectPath)) {
    const path = p.embedded ? p.path : realpathSync(p.path);
    parts[p.name] = { path: p.embedded ? "embedded in the ato binary" : path, sha256: p.embedded ? sha256Hex(await Bun.file(p.path).bytes()) : await cache.sha256Async(path) };
  }
  return { version: VERSION, commit: commit(), parts, dpkg: withDpkg ? await dpkgOf(parts.ato!.path) : null };
}

export async function dpkgOf(path: string): Promise<BuildState["dpkg"]> {
  const o = (await packageOwnersAsync([path])).get(path);
  return o ? { package: o.package, version: o.version, architecture: o.architecture } : null;
}

/** The settings whose values differ, by name, in name order. */
export function changedSettings(before: Record<string, string>, after: Record<string, string>): { setting: string; before: string | null; after: string | null }[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    .filter((k) => before[k] !== after[k])
    .map((k) => ({ setting: k, before: before[k] ?? null, after: after[k] ?? null }));
}

/** The parts of the build that differ (version, commit, or a part's hash). */
export function changedBuild(before: BuildState, after: BuildState): string[] {
  const out: string[] = [];
  if (before.version !== after.version) out.push("version");
  if (before.commit !== after.commit) out.push("commit");
  for (const k of [...new Set([...Object.keys(before.parts ?? {}), ...Object.keys(after.parts)])].sort()) {
    if (before.parts?.[k]?.sha256 !== after.parts[k]?.sha256) out.push(k);
  }
  return out;
}
