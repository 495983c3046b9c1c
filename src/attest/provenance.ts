/**
 * Where a file comes from: the Debian package that owns it (`dpkg -S`, then `dpkg-query` for its version), or
 * nothing. Looked up in one `dpkg -S` for many paths; each path is tried as given, resolved through symlinks,
 * and with its /usr prefix dropped (a merged-/usr system installs /usr/bin/bash, dpkg knows it as /bin/bash).
 * A host without dpkg has no package provenance: every file is then hashed.
 */
import { realpathSync } from "node:fs";

export interface PackageSource {
  type: "dpkg";
  package: string;
  version: string;
  architecture: string;
}

const CHUNK = 256;

function candidates(path: string): string[] {
  const out = [path];
  try {
    out.push(realpathSync(path));
  } catch {
    // a dangling link or a file gone: the path as given is all there is
  }
  for (const p of [...out]) {
    const m = /^\/usr(\/(?:s?bin|lib\w*)\/.*)$/.exec(p);
    if (m) out.push(m[1]!);
  }
  return [...new Set(out)];
}

function run(argv: string[]): string | undefined {
  try {
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    return r.stdout.toString(); // dpkg -S exits 1 when any path has no owner; the others are still listed
  } catch {
    return undefined; // no dpkg on this host
  }
}

/** The owning package of each path that has one. */
export function packageOwners(paths: readonly string[]): Map<string, PackageSource> {
  const byCandidate = new Map<string, string[]>();
  for (const p of paths) for (const c of candidates(p)) byCandidate.set(c, [...(byCandidate.get(c) ?? []), p]);
  const owners = new Map<string, string>();
  const all = [...byCandidate.keys()];
  for (let i = 0; i < all.length; i += CHUNK) {
    const out = run(["dpkg", "-S", ...all.slice(i, i + CHUNK)]);
    if (out === undefined) return new Map();
    for (const line of out.split("\n")) {
      // "pkg[:arch][, pkg2]: /path"; diversions ("diversion by …") are skipped
      const m = /^([^\s:,]+)(?::[^\s,]+)?(?:, [^:]+)?: (\/.*)$/.exec(line);
      if (!m) continue;
      for (const p of byCandidate.get(m[2]!) ?? []) if (!owners.has(p)) owners.set(p, m[1]!);
    }
  }
  const versions = packageVersions([...new Set(owners.values())]);
  const result = new Map<string, PackageSource>();
  for (const [p, pkg] of owners) {
    const v = versions.get(pkg);
    if (v) result.set(p, { type: "dpkg", package: pkg, ...v });
  }
  return result;
}

function packageVersions(pkgs: string[]): Map<string, { version: string; architecture: string }> {
  const out = new Map<string, { version: string; architecture: string }>();
  if (pkgs.length === 0) return out;
  const text = run(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Architecture}\n", ...pkgs]) ?? "";
  for (const line of text.split("\n")) {
    const [pkg, version, architecture] = line.split("\t");
    if (pkg && version) out.set(pkg, { version, architecture: architecture ?? "" });
  }
  return out;
}
