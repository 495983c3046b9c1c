/**
 * Where a file comes from: the Debian package that owns it (`dpkg -S`, then `dpkg-query` for its version), or
 * nothing. Looked up in one `dpkg -S` for many paths; each path is tried as given, resolved through symlinks,
 * and with its /usr prefix dropped (a merged-/usr system installs /usr/bin/bash, dpkg knows it as /bin/bash).
 * A host without dpkg has no package provenance: every file is then hashed. Two forms: synchronous (ato
 * attest run) and asynchronous (the agent, whose event loop must not wait for dpkg).
 */
import { realpathSync } from "node:fs";

export interface PackageSource {
  type: "dpkg";
  package: string;
  version: string;
  architecture: string;
}

const CHUNK = 256;
const VERSION_FORMAT = "-f=${Package}\t${Version}\t${Architecture}\n";

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

/** The lookup's state between its two queries. */
class Lookup {
  readonly byCandidate = new Map<string, string[]>();
  readonly owners = new Map<string, string>();

  constructor(paths: readonly string[]) {
    for (const p of paths) for (const c of candidates(p)) this.byCandidate.set(c, [...(this.byCandidate.get(c) ?? []), p]);
  }

  ownerQueries(): string[][] {
    const all = [...this.byCandidate.keys()];
    const out: string[][] = [];
    for (let i = 0; i < all.length; i += CHUNK) out.push(["dpkg", "-S", ...all.slice(i, i + CHUNK)]);
    return out;
  }

  /** "pkg[:arch][, pkg2]: /path" lines; diversions ("diversion by …") do not match and are skipped. */
  addOwners(text: string): void {
    for (const line of text.split("\n")) {
      const m = /^([^\s:,]+)(?::[^\s,]+)?(?:, [^:]+)?: (\/.*)$/.exec(line);
      if (!m) continue;
      for (const p of this.byCandidate.get(m[2]!) ?? []) if (!this.owners.has(p)) this.owners.set(p, m[1]!);
    }
  }

  versionQuery(): string[] | undefined {
    const pkgs = [...new Set(this.owners.values())];
    return pkgs.length ? ["dpkg-query", "-W", VERSION_FORMAT, ...pkgs] : undefined;
  }

  result(versionText: string): Map<string, PackageSource> {
    const versions = new Map<string, { version: string; architecture: string }>();
    for (const line of versionText.split("\n")) {
      const [pkg, version, architecture] = line.split("\t");
      if (pkg && version) versions.set(pkg, { version, architecture: architecture ?? "" });
    }
    const out = new Map<string, PackageSource>();
    for (const [p, pkg] of this.owners) {
      const v = versions.get(pkg);
      if (v) out.set(p, { type: "dpkg", package: pkg, ...v });
    }
    return out;
  }
}

/** stdout of a command; dpkg -S exits 1 when any path has no owner, the others are still listed. undefined: no such command. */
function runSync(argv: string[]): string | undefined {
  try {
    return Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore", stdin: "ignore" }).stdout.toString();
  } catch {
    return undefined;
  }
}

async function runAsync(argv: string[]): Promise<string | undefined> {
  let p;
  try {
    p = Bun.spawn(argv, { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  } catch {
    return undefined;
  }
  const [out] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return out;
}

/** The owning package of each path that has one. */
export function packageOwners(paths: readonly string[]): Map<string, PackageSource> {
  const l = new Lookup(paths);
  for (const q of l.ownerQueries()) {
    const out = runSync(q);
    if (out === undefined) return new Map();
    l.addOwners(out);
  }
  const v = l.versionQuery();
  return l.result(v ? (runSync(v) ?? "") : "");
}

export async function packageOwnersAsync(paths: readonly string[]): Promise<Map<string, PackageSource>> {
  const l = new Lookup(paths);
  for (const q of l.ownerQueries()) {
    const out = await runAsync(q);
    if (out === undefined) return new Map();
    l.addOwners(out);
  }
  const v = l.versionQuery();
  return l.result(v ? ((await runAsync(v)) ?? "") : "");
}
