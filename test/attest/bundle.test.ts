/**
 * `ato attest run` around a real command on real files, signed by a SoftHSM key, and `ato attest verify`
 * against every change an attacker could make to the bundle: each gives verify's exit code for it. A bundle
 * whose signing failed is written anyway, says so, and passes once a later good checkpoint covers its digest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { atoIn } from "../support/agent.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";

let token: TestToken;
let tmp: string;
let auditDir: string;
let watched: string;
let env: Record<string, string>;
let pubkey: string;
const OTHER_KEY = resolve(import.meta.dir, "../fixtures/evidence/other-ed25519.pem");
const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  token = await createToken({ keyType: "ed25519" });
  tmp = mkdtempSync("/tmp/ato-attest-bundle-");
  auditDir = join(tmp, "audit");
  watched = join(tmp, "etc");
  mkdirSync(watched);
  writeFileSync(join(watched, "app.conf"), "workers 4\n");
  writeFileSync(join(watched, "keep.conf"), "unchanged\n");
  env = { ...token.env, ATO_AUDIT_DIR: auditDir };
  pubkey = join(tmp, "public.pem");
  expect(atoIn(null, ["hsm", "pubkey", "--out", pubkey], env).code).toBe(0);
});
afterAll(() => {
  token?.cleanup();
  Bun.spawnSync(["chattr", "-R", "-a", tmp], { stderr: "ignore" });
  rmSync(tmp, { recursive: true, force: true });
});

function attestRun(name: string, script: string, extraEnv: Record<string, string> = {}, watch = [watched]) {
  const r = atoIn(null, ["attest", "run", "--name", name, ...watch.flatMap((w) => ["--watch", w]), "--", "sh", "-c", script], { ...env, ...extraEnv });
  return { ...r, opId: r.stdout.trim() };
}
function verify(opId: string, key = pubkey) {
  const r = atoIn(null, ["attest", "verify", "--op", opId, "--pubkey", key, "--json"], env);
  return { ...r, report: r.stdout ? JSON.parse(r.stdout) : undefined };
}
const files = (opId: string) => ({
  jsonl: join(auditDir, "attest", `attest-${opId}.jsonl`),
  sig: join(auditDir, "attest", `attest-${opId}.jsonl.sig`),
  sbom: join(auditDir, "attest", `attest-${opId}-sbom.json`),
});
const lines = (opId: string) => readFileSync(files(opId).jsonl, "utf8").trim().split("\n").map((l) => JSON.parse(l));

/** Changes one byte of a file, runs fn, puts the byte back. */
function withByteChanged(path: string, at: (b: Buffer) => number, fn: () => void) {
  const orig = readFileSync(path);
  const b = Buffer.from(orig);
  const i = at(b);
  b[i] = b[i] === 0x31 ? 0x32 : 0x31;
  writeFileSync(path, b);
  try {
    fn();
  } finally {
    writeFileSync(path, orig);
  }
}

describe("ato attest run and verify", () => {
  let opId: string;

  test("a wrapped command: what it changed under the watched path is in the signed bundle, and verify passes", () => {
    const r = attestRun("raise workers", `printf 'workers 8\\n' > ${watched}/app.conf; echo on > ${watched}/new.flag; rm -f /nonexistent`);
    expect(r.code).toBe(0);
    opId = r.opId;
    const f = files(opId);
    expect([existsSync(f.jsonl), existsSync(f.sig), existsSync(f.sbom)]).toEqual([true, true, true]);
    const l = lines(opId);
    expect(l[0]).toMatchObject({ type: "operation", kind: "wrapped", name: "raise workers", op_id: opId });
    const mod = l.find((e) => e.event === "file_modified");
    expect(mod).toMatchObject({ path: join(watched, "app.conf"), sha256_before: sha("workers 4\n"), sha256_after: sha("workers 8\n") });
    expect(l.find((e) => e.event === "file_created")).toMatchObject({ path: join(watched, "new.flag"), sha256_after: sha("on\n") });
    expect(l.some((e) => e.path === join(watched, "keep.conf"))).toBe(false); // unchanged: no event
    expect(l.at(-1)).toMatchObject({ type: "end", signature_status: "ok", exit_code: 0, sbom_sha256: sha(readFileSync(f.sbom)) });

    const v = verify(opId);
    expect(v.code).toBe(0);
    expect(v.report.result).toBe("verified");
    expect(v.report.log.seq).toBeGreaterThan(0);
  });

  test("OpenSSL alone checks the detached signature", () => {
    const f = files(opId);
    const r = Bun.spawnSync(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubkey, "-rawin", "-in", f.jsonl, "-sigfile", f.sig]);
    expect(r.stdout.toString()).toContain("Signature Verified Successfully");
  });

  test("the SBOM names what ran, with hashes, and the dpkg owner of the PKCS#11 module", () => {
    const sbom = JSON.parse(readFileSync(files(opId).sbom, "utf8"));
    const names = sbom.packages.map((p: any) => p.name);
    expect(names).toEqual(["ato", "xdp_audit.o", "flow_sum.o", "libbpf.so.1", "libatomask.so", "pkcs11-module"]);
    const bpf = sbom.packages[1];
    expect(bpf.checksums[0].checksumValue).toBe(sha(readFileSync(resolve(import.meta.dir, "../../dist/xdp_audit.o"))));
    expect(sbom.packages[2].checksums[0].checksumValue).toBe(sha(readFileSync(resolve(import.meta.dir, "../../dist/flow_sum.o"))));
    const mod = sbom.packages[5];
    const owner = Bun.spawnSync(["dpkg-query", "-W", "-f=${Version}", "libsofthsm2"]).stdout.toString();
    expect(mod.versionInfo).toBe(owner);
    expect(mod.externalRefs[0].referenceLocator).toStartWith("pkg:deb/debian/libsofthsm2@");
  });

  test("one byte changed in the JSONL, the SBOM or the signature: tampered (1); the signature gone: incomplete (2); another key: untrusted (3)", () => {
    const f = files(opId);
    withByteChanged(f.jsonl, (b) => b.indexOf("workers") + 2, () => {
      const v = verify(opId);
      expect(v.code).toBe(1);
      expect(v.report.findings.filter((x: any) => x.severity === "tampered").map((x: any) => x.check).sort()).toEqual(["log", "signature"]);
    });
    withByteChanged(f.sbom, (b) => b.indexOf("checksumValue") + 20, () => {
      const v = verify(opId);
      expect(v.code).toBe(1);
      expect(v.report.findings.find((x: any) => x.severity === "tampered").check).toBe("sbom");
    });
    withByteChanged(f.sig, () => 10, () => {
      const v = verify(opId);
      expect(v.code).toBe(1);
      expect(v.report.findings.find((x: any) => x.severity === "tampered").check).toBe("signature");
    });
    const sig = readFileSync(f.sig);
    unlinkSync(f.sig);
    try {
      expect(verify(opId).code).toBe(2);
    } finally {
      writeFileSync(f.sig, sig);
    }
    expect(verify(opId, OTHER_KEY).code).toBe(3);
    expect(verify(opId).code).toBe(0); // everything put back
  });

  test("an operation without a bundle is not found (66); an id that is not a file name part is a usage error (64)", () => {
    expect(atoIn(null, ["attest", "verify", "--op", "20990101T000000Z-deadbeef", "--pubkey", pubkey], env).code).toBe(66);
    expect(atoIn(null, ["attest", "verify", "--op", "../x", "--pubkey", pubkey], env).code).toBe(64);
  });

  test("signing fails (wrong PIN): the bundle is written with signature_status failed, and a later good checkpoint covers it", () => {
    const r = attestRun("unsigned change", `echo x >> ${watched}/app.conf`, { PKCS11_PIN: "wrong-pin-0000" });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the bundle is not signed");
    expect(r.stderr).not.toContain("wrong-pin-0000");
    const failed = r.opId;
    expect(existsSync(files(failed).sig)).toBe(false);
    expect(lines(failed).at(-1)).toMatchObject({ signature_status: "failed", signature: null });
    expect(readFileSync(files(failed).jsonl, "utf8")).not.toContain("wrong-pin-0000");
    const before = verify(failed);
    expect(before.code).toBe(2); // its attest record is in the log, but no good checkpoint covers it yet
    expect(before.report.findings.find((x: any) => x.severity === "incomplete").check).toBe("log");

    expect(attestRun("next good one", "true").code).toBe(0);
    const after = verify(failed);
    expect(after.code).toBe(0);
    expect(after.report.findings.find((x: any) => x.check === "signature").message).toContain("failed");
    expect(after.report.log.covered_by_tree_size).toBeGreaterThan(after.report.log.seq);
  });

  test("the wrapped command's exit code is ato's; a failed command is still recorded", () => {
    const r = attestRun("failing step", "exit 3");
    expect(r.code).toBe(3);
    expect(lines(r.opId).at(-1)).toMatchObject({ status: "failed", exit_code: 3 });
    expect(verify(r.opId).code).toBe(0);
  });

  test("selective hashing: files a Debian package owns are not read unless they changed", () => {
    const r = attestRun("look at softhsm", "true", {}, ["/usr/lib/x86_64-linux-gnu/softhsm", watched]);
    expect(r.code).toBe(0);
    const l = lines(r.opId);
    const before = l.find((e) => e.event === "watch_before");
    expect(before.package_owned).toBe(1); // libsofthsm2.so
    expect(before.hashed).toBe(before.files - 1);
    const after = l.find((e) => e.event === "watch_after");
    expect(after.cache_hits).toBe(before.hashed); // unchanged files: answered by the cache the second time
  });

  test("an ato hsm action on a host that keeps evidence is a bundle of its own", () => {
    const r = atoIn(null, ["hsm", "pubkey"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("BEGIN PUBLIC KEY");
    const opId = /operation (\S+) \(hsm pubkey\) recorded/.exec(r.stderr)?.[1];
    expect(opId).toBeDefined();
    expect(lines(opId!)[0]).toMatchObject({ kind: "hsm", name: "hsm pubkey", key_label: token.keyLabel });
    expect(verify(opId!).code).toBe(0);
  });

  test("the whole evidence log, attest records included, still verifies with ato verify", () => {
    const r = atoIn(null, ["verify", auditDir, "--pubkey", pubkey], env);
    expect(r.code).toBe(0);
    const kinds = readFileSync(join(auditDir, "signed_evidence.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l).kind);
    expect(kinds.filter((k) => k === "attest").length).toBe(6);
  });
});
