/**
 * The SPDX-lite fragment of what ran: ato's binary, the XDP object, the conservation check's flow-sum object
 * (embedded, loaded where the kernel takes it), the shared objects embedded in ato
 * (libbpf, the masking routines) and the PKCS#11 module. Each with its SHA-256, a version and where it came
 * from: the Debian package that owns it (name, version, a purl), or "embedded in ato" / "file". Written as
 * canonical JSON, so its digest in the bundle names exactly these bytes.
 */
import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { canonicalize } from "../evidence/index.ts";
import { bpfObjectPath, FLOW_SUM_OBJECT } from "../kernel/object.ts";
import { commit, VERSION } from "../version.ts";
import embeddedLibbpf from "../../dist/lib/libbpf.so.1" with { type: "file" };
import embeddedMask from "../../dist/lib/libatomask.so" with { type: "file" };
import { sha256FileAsync, sha256Hex } from "./digest.ts";
import type { HashCache } from "./hash-cache.ts";
import { packageOwners, packageOwnersAsync, type PackageSource } from "./provenance.ts";

export interface SbomInputs {
  opId: string;
  created: string;
  bpfObject?: string;
  modulePath?: string;
  env?: Record<string, string | undefined>;
  /** Files on disk are hashed through it (the agent's: ato's binary is then read once per version). */
  cache?: HashCache;
}

interface Component {
  name: string;
  role: string;
  path: string;
  version: string;
  source: PackageSource | { type: "embedded" | "file" };
}

/** True in a `bun build --compile` binary, whose own modules live under /$bunfs/. */
const compiled = () => import.meta.path.includes("$bunfs");

function components(i: SbomInputs): Component[] {
  const env = i.env ?? process.env;
  const libDir = env.ATO_LIB_DIR;
  const lib = (name: string, embedded: string): Component => ({
    name, role: "shared object", path: libDir ? join(libDir, name) : embedded, version: libDir ? "ATO_LIB_DIR" : `ato ${VERSION}`,
    source: { type: libDir ? "file" : "embedded" },
  });
  const bpf = bpfObjectPath(i.bpfObject);
  const list: Component[] = [
    { name: "ato", role: compiled() ? "binary" : `bun runtime running ato from source (${Bun.main})`, path: process.execPath, version: compiled() ? `${VERSION} (${commit()})` : `bun ${Bun.version}; ato ${VERSION} (${commit()})`, source: { type: "file" } },
    { name: "xdp_audit.o", role: "BPF object", path: bpf, version: `ato ${VERSION}`, source: { type: i.bpfObject ? "file" : "embedded" } },
    { name: "flow_sum.o", role: "BPF object (the conservation check's walk of the flow map)", path: FLOW_SUM_OBJECT, version: `ato ${VERSION}`, source: { type: "embedded" } },
    lib("libbpf.so.1", embeddedLibbpf),
    lib("libatomask.so", embeddedMask),
  ];
  if (i.modulePath) list.push({ name: "pkcs11-module", role: "PKCS#11 module", path: i.modulePath, version: "unknown", source: { type: "file" } });
  return list;
}

const unowned = (list: Component[]) => list.filter((c) => c.source.type === "file").map((c) => c.path);

function withOwners(list: Component[], owners: Map<string, PackageSource>): Component[] {
  for (const c of list) {
    const owner = owners.get(c.path);
    if (owner) Object.assign(c, { source: owner, version: owner.version });
  }
  return list;
}

function digestOf(path: string): string | undefined {
  try {
    return sha256Hex(readFileSync(path));
  } catch {
    return undefined; // absent (no PKCS#11 module, a dist/ not built): listed without a checksum
  }
}

async function digestOfAsync(path: string, cache?: HashCache): Promise<string | undefined> {
  try {
    if (path.includes("$bunfs")) return sha256Hex(await Bun.file(path).bytes()); // embedded, small
    return cache ? await cache.sha256Async(realpathSync(path)) : await sha256FileAsync(path);
  } catch {
    return undefined;
  }
}

/** The SBOM document (SPDX 2.3 field names, the subset that says what and from where). */
function buildSbom(i: SbomInputs, list: Component[], digests: (string | undefined)[]): Record<string, unknown> {
  const packages = list.map((c, n) => {
    const sha = digests[n];
    const real = (() => { try { return realpathSync(c.path); } catch { return c.path; } })();
    return {
      SPDXID: `SPDXRef-${n}-${c.name.replace(/[^A-Za-z0-9.-]/g, "-")}`,
      name: c.name,
      versionInfo: c.version,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      checksums: sha ? [{ algorithm: "SHA256", checksumValue: sha }] : [],
      comment: `${c.role}: ${c.path.includes("$bunfs") ? "embedded in the ato binary" : real}`,
      sourceInfo: c.source.type === "dpkg" ? `Debian package ${c.source.package} ${c.source.version} (${c.source.architecture})` : c.source.type === "embedded" ? "embedded in the ato binary" : "a file no package owns",
      externalRefs: c.source.type === "dpkg"
        ? [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: `pkg:deb/debian/${c.source.package}@${c.source.version}?arch=${c.source.architecture}` }]
        : [],
    };
  });
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `ato-attest-${i.opId}`,
    documentNamespace: `urn:ato:attest:${i.opId}`,
    creationInfo: { created: i.created, creators: [`Tool: ato-${VERSION}`] },
    packages,
  };
}

export function sbomBytes(i: SbomInputs): Buffer {
  const list = components(i);
  withOwners(list, packageOwners(unowned(list)));
  return Buffer.from(canonicalize(buildSbom(i, list, list.map((c) => digestOf(c.path)))) + "\n");
}

/** The same bytes, made without blocking the event loop (the agent builds its SBOM while it runs). */
export async function sbomBytesAsync(i: SbomInputs): Promise<Buffer> {
  const list = components(i);
  withOwners(list, await packageOwnersAsync(unowned(list)));
  const digests: (string | undefined)[] = [];
  for (const c of list) digests.push(await digestOfAsync(c.path, i.cache)); // one at a time: one read in flight
  return Buffer.from(canonicalize(buildSbom(i, list, digests)) + "\n");
}

/** Where ato's own parts are read from (the binary, the XDP object, the embedded shared objects), for the upgrade check. */
export function ownParts(bpfObject: string | undefined, env: Record<string, string | undefined> = process.env): { name: string; path: string; embedded: boolean }[] {
  return components({ opId: "-", created: "-", bpfObject, env }).filter((c) => c.role !== "PKCS#11 module").map((c) => ({ name: c.name, path: c.path, embedded: c.path.includes("$bunfs") }));
}
