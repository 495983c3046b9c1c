/** `ato doctor` as a user runs it: a child process, one line per check, a fix for each failure, exit 0 or 1. */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createToken, type TestToken } from "../support/softhsm.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "ato-doctor-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Check {
  name: string;
  status: "ok" | "fail" | "skip";
  detail: string;
  fix?: string;
}

/** The environment without any ato setting the caller's shell may have, so only what a test passes counts. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(ATO_|XDP_|HSM_|PKCS11_|FLOW_MAP_PATH)/.test(k)) env[k] = v;
  return { ...env, PKCS11_MODULE_PATH: "/nonexistent/libpkcs11.so", ...extra };
}

async function doctor(args: string[], env = cleanEnv()) {
  const p = Bun.spawn(["bun", MAIN, "doctor", ...args], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

async function doctorJson(args: string[], env?: Record<string, string>) {
  const r = await doctor(["--json", ...args], env);
  expect(r.stderr).toBe("");
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  return { ...r, report, check: (name: string) => report.checks.find((c) => c.name === name)! };
}

let busy: { stop(closeActive?: boolean): void } | undefined;
afterEach(() => {
  busy?.stop(true);
  busy = undefined;
});

describe("ato doctor", () => {
  test("an audit directory that is a file and a busy port are reported, each with a fix, and exit 1", async () => {
    const notDir = join(dir, "not-a-dir");
    writeFileSync(notDir, "");
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    busy = listener;
    const port = listener.port;
    const r = await doctorJson(["--audit-dir", notDir, "--listen", `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.report.ok).toBe(false);
    expect(r.check("audit directory")).toMatchObject({ status: "fail", detail: `${notDir} is not a directory` });
    expect(r.check("audit directory").fix).toContain("--audit-dir");
    expect(r.check("listen")).toMatchObject({ status: "fail", detail: `port ${port} on 127.0.0.1 is already in use` });
    expect(r.check("listen").fix).toContain("--listen ADDR:PORT");
    expect(r.check("listen").fix).toContain(`sport = :${port}`);
  });

  test("a missing audit directory gets mkdir as its fix", async () => {
    const missing = join(dir, "no", "such", "dir");
    const r = await doctorJson(["--audit-dir", missing, "--listen", "127.0.0.1:0"]);
    expect(r.check("audit directory")).toMatchObject({ status: "fail", detail: `${missing} does not exist` });
    expect(r.check("audit directory").fix).toStartWith(`mkdir -p -m 0750 ${missing}`);
  });

  test("a writable audit directory and a free port pass, and the probe file is gone afterwards", async () => {
    const audit = mkdtempSync(join(dir, "audit-"));
    const r = await doctorJson(["--audit-dir", audit, "--listen", "127.0.0.1:0"]);
    expect(r.check("audit directory").status).toBe("ok");
    expect(r.check("audit directory").detail).toContain(`${audit} is writable`);
    expect(r.check("listen")).toEqual({ name: "listen", status: "ok", detail: "127.0.0.1:0 is free" });
    expect(readdirSync(audit)).toEqual([]);
  });

  test("every check of the preflight is there, and every failure has a fix", async () => {
    const r = await doctorJson(["--audit-dir", dir, "--listen", "127.0.0.1:0"]);
    expect(r.report.checks.map((c) => c.name)).toEqual([
      "kernel", "btf", "privileges", "configuration", "bpffs", "interface", "bpf object", "bpf program", "pkcs11 module", "hsm key", "audit directory", "listen",
    ]);
    for (const c of r.report.checks) if (c.status === "fail") expect(c.fix?.length ?? 0).toBeGreaterThan(10);
    expect(r.check("pkcs11 module")).toMatchObject({ status: "fail", detail: "/nonexistent/libpkcs11.so does not exist" });
    expect(r.check("interface").status).toBe("skip");
  });

  test("an unknown interface and a pin directory off bpffs fail with their fixes", async () => {
    const r = await doctorJson(["--iface", "nosuchif0", "--pin-dir", join(dir, "pins"), "--audit-dir", dir, "--listen", "127.0.0.1:0"]);
    expect(r.check("interface")).toMatchObject({ status: "fail" });
    expect(r.check("interface").detail).toContain("nosuchif0");
    expect(r.check("bpffs").status).toBe("fail");
    expect(r.check("bpffs").fix).toContain("mount -t bpf bpf /sys/fs/bpf");
  });

  test("the loopback interface exists", async () => {
    const r = await doctorJson(["--iface", "lo", "--audit-dir", dir, "--listen", "127.0.0.1:0"]);
    expect(r.check("interface")).toEqual({ name: "interface", status: "ok", detail: "lo (index 1)" });
  });

  test("a file that is not a BPF object is refused", async () => {
    const notBpf = join(dir, "not-bpf.o");
    writeFileSync(notBpf, "\x7fELF but not really");
    const r = await doctorJson(["--bpf-object", notBpf, "--audit-dir", dir, "--listen", "127.0.0.1:0"]);
    expect(r.check("bpf object")).toMatchObject({ status: "fail", detail: `${notBpf} is not a BPF ELF object` });
  });

  test("the compiled binary finds the BPF object embedded in it", async () => {
    const p = Bun.spawn([`${import.meta.dir}/../../dist/ato`, "doctor", "--json", "--audit-dir", dir, "--listen", "127.0.0.1:0"],
      { env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const report = JSON.parse(await new Response(p.stdout).text()) as { checks: Check[] };
    await p.exited;
    expect(report.checks.find((c) => c.name === "bpf object")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^embedded in this binary \(\d+ bytes\)$/) });
  });

  test("a trial load says which object this kernel runs, and leaves no pins behind", async () => {
    const pinDir = `/sys/fs/bpf/ato-test-doctor-${process.pid}`;
    const r = await doctorJson(["--pin-dir", pinDir, "--audit-dir", dir, "--listen", "127.0.0.1:0"]);
    // This host's kernel is newer than 5.12: the first object; 5.10 runs the other (the kernel matrix checks it).
    expect(r.check("bpf program")).toEqual({ name: "bpf program", status: "ok", detail: "the kernel runs xdp_audit.o (embedded)" });
    expect(readdirSync("/sys/fs/bpf").filter((n) => n.startsWith(`ato-test-doctor-${process.pid}`))).toEqual([]);
  });

  test("an invalid setting fails the configuration check and skips what depends on it", async () => {
    const r = await doctorJson(["--audit-dir", dir], cleanEnv({ XDP_MODE: "fast" }));
    expect(r.code).toBe(1);
    expect(r.check("configuration")).toMatchObject({ status: "fail", detail: "XDP_MODE must be one of auto, drv, skb, hw; got 'fast' (from environment)" });
    expect(r.check("listen").status).toBe("skip");
    expect(r.check("kernel").status).toBe("ok");
  });

  test("the human report: one line per check, the fix under each failure, a summary", async () => {
    const r = await doctor(["--audit-dir", join(dir, "missing"), "--listen", "127.0.0.1:0"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.find((l) => l.startsWith("✗ audit directory"))).toContain("does not exist");
    const i = lines.findIndex((l) => l.startsWith("✗ audit directory"));
    expect(lines[i + 1]!.trim()).toStartWith("fix: mkdir -p");
    expect(lines.find((l) => l.startsWith("✓ kernel"))).toBeDefined();
    expect(lines.at(-1)).toMatch(/^\d+ ok, \d+ failed/);
  });
});

describe("[hsm] ato doctor and the token", () => {
  let tok: TestToken | undefined;
  afterEach(() => {
    tok?.cleanup();
    tok = undefined;
  });

  test("finds the token and key and signs with them", async () => {
    tok = await createToken({ keyType: "ed25519" });
    const r = await doctorJson(["--audit-dir", dir, "--listen", "127.0.0.1:0"], cleanEnv(tok.env));
    expect(r.check("pkcs11 module")).toMatchObject({ status: "ok", detail: tok.modulePath });
    expect(r.check("hsm key")).toEqual({ name: "hsm key", status: "ok", detail: `key '${tok.keyLabel}' (ed25519) on token '${tok.tokenLabel}' signs` });
    expect(r.stdout).not.toContain(tok.pin);
  });

  test("a wrong PIN fails with a fix and shows neither PIN", async () => {
    tok = await createToken({ keyType: "ecdsa-p256" });
    const wrong = "wrong-pin-5e7a";
    const r = await doctorJson(["--audit-dir", dir, "--listen", "127.0.0.1:0"], cleanEnv({ ...tok.env, PKCS11_PIN: wrong }));
    expect(r.code).toBe(1);
    expect(r.check("hsm key").status).toBe("fail");
    expect(r.check("hsm key").detail).toContain("wrong PIN");
    expect(r.check("hsm key").fix).toContain("PKCS11_PIN");
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.stdout + r.stderr).not.toContain(tok.pin);
  });

  test("a missing key names the labels present and how to set or create one", async () => {
    tok = await createToken({ keyType: "ed25519" });
    const r = await doctorJson(["--audit-dir", dir, "--listen", "127.0.0.1:0", "--key-label", "absent"], cleanEnv(tok.env));
    expect(r.check("hsm key").status).toBe("fail");
    expect(r.check("hsm key").detail).toContain("'absent'");
    expect(r.check("hsm key").fix).toContain("HSM_KEY_LABEL (--key-label)");
  });

  test("no PIN at all says where to set one", async () => {
    tok = await createToken({ keyType: "ed25519" });
    const { PKCS11_PIN: _, ...env } = tok.env;
    const r = await doctorJson(["--audit-dir", dir, "--listen", "127.0.0.1:0"], cleanEnv(env));
    expect(r.check("hsm key")).toMatchObject({ status: "fail", detail: "no PIN to log in with" });
    expect(r.check("hsm key").fix).toContain("PKCS11_PIN");
  });
});
