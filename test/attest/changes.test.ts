/**
 * Configuration changes and upgrades as operations, seen by real `ato run`s of compiled binaries over one audit
 * directory: the first run is a baseline; the config file edited while the agent runs (by the interval's look,
 * and at once on SIGHUP, which no longer kills the agent) is a `config change` that says it is not applied; the
 * next start records the change as applied and, started from another build at the same path, an `upgrade` with
 * the from/to commit and hashes; the same version with bytes appended is an upgrade of the binary alone; an
 * unchanged restart records nothing and does not read the 100 MB binary again; a forged last-run.json is not
 * believed. Every bundle verifies, and no PIN appears in any of them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { SOFTHSM_MODULE } from "../support/softhsm.ts";
import { dpkgOf } from "../../src/attest/run-state.ts";

const ROOT = resolve(import.meta.dir, "../..");
let lab: Lab;
let setup: Awaited<ReturnType<typeof agentSetup>>;
let pinDir: string;
let tmp: string;
let binary: string;
let configFile: string;
let soPin: string;
let env: Record<string, string>;
const running: Subprocess[] = [];

beforeAll(async () => {
  setup = await agentSetup("attest-changes");
  lab = createLab();
  pinDir = uniquePinDir("attest-chg");
  tmp = mkdtempSync("/tmp/ato-attest-changes-");
  binary = join(tmp, "ato");
  copyFileSync(join(ROOT, "dist/ato"), binary);
  configFile = join(tmp, "ato.env");
  // The PIN is in the config file only: what a bundle says about the file must never show it.
  writeFileSync(configFile, `# ato test config\nPKCS11_PIN=${setup.token.pin}\nATO_CHECKPOINT_EVERY=5000\n`, { mode: 0o600 });
  soPin = String(10_000_000 + Math.floor(Math.random() * 89_999_999));
  const { PKCS11_PIN: _pin, ...rest } = setup.env;
  env = rest;
  expect(atoIn(null, ["hsm", "pubkey", "--out", join(tmp, "public.pem")], setup.env).code).toBe(0);
});
afterAll(async () => {
  for (const p of running) if (p.exitCode === null) p.kill("SIGKILL");
  await Promise.all(running.map((p) => p.exited));
  await setup?.cleanup();
  lab?.destroy();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** `binary run` in the lab's server namespace, its output collected. */
function start(intervalMs: number) {
  const args = ["--iface", lab.server.dev, "--pin-dir", pinDir, "--audit-dir", setup.auditDir, "--listen", "127.0.0.1:0", "--interval-ms", String(intervalMs), "--config", configFile];
  const proc = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, binary, "run", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  running.push(proc);
  let out = "";
  void (async () => { for await (const c of proc.stderr) out += new TextDecoder().decode(c); })();
  void (async () => { for await (const c of proc.stdout) out += new TextDecoder().decode(c); })();
  const waitFor = async (re: RegExp, ms = 30000) => {
    const until = Date.now() + ms;
    while (!re.test(out)) {
      if (proc.exitCode !== null) throw new Error(`ato run exited before ${re}:\n${out}`);
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}:\n${out}`);
      await Bun.sleep(50);
    }
  };
  const stop = async () => {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    return out;
  };
  return { proc, waitFor, stop, output: () => out };
}

const recorded = (out: string, name: string) => [...out.matchAll(new RegExp(`${name} recorded as operation (\\S+) \\(signature ok\\)`, "g"))].map((m) => m[1]!);
const bundle = (opId: string) => readFileSync(join(setup.auditDir, "attest", `attest-${opId}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const runBundle = (out: string) => bundle(/attestation bundle \S+attest-(\S+)\.jsonl \(signature ok\)/.exec(out)![1]!);
const verifies = (opId: string) => atoIn(null, ["attest", "verify", "--op", opId, "--pubkey", join(tmp, "public.pem"), "--audit-dir", setup.auditDir], env).code;

describe("configuration changes and upgrades as operations", () => {
  test("first run: a baseline only; the config file edited while running is recorded as not applied, on SIGHUP at once", async () => {
    const a = start(1500);
    await a.waitFor(/self-attestation: program id/);
    await a.waitFor(/attest record seq|attached on/);
    await Bun.sleep(300); // the start's comparison has run (no earlier run to compare with)
    appendFileSync(configFile, "ATO_CHECKPOINT_EVERY=6000\n"); // the later line wins in an env-file
    a.proc.kill("SIGHUP");
    await a.waitFor(/SIGHUP: ato run does not reload/);
    await a.waitFor(/config change recorded as operation/);
    appendFileSync(configFile, `PKCS11_SO_PIN=${soPin}\n`);
    await a.waitFor(/config change recorded as operation \S+ [^\n]*\n[\s\S]*config change recorded as operation/, 10000);
    const out = await a.stop();
    expect(recorded(out, "upgrade")).toEqual([]);
    const [hup, edit] = recorded(out, "config change");
    const h = bundle(hup!);
    expect(h[0]).toMatchObject({ kind: "config", name: "config change", trigger: "SIGHUP", applied: false });
    expect(h.find((e) => e.event === "config_file_changed").changed).toEqual([{ setting: "ATO_CHECKPOINT_EVERY", before: "5000", after: "6000" }]);
    const e = bundle(edit!);
    expect(e[0]).toMatchObject({ trigger: "file changed while running", applied: false });
    expect(e.find((x) => x.event === "config_file_changed").changed).toEqual([{ setting: "PKCS11_SO_PIN", before: null, after: "(set)" }]);
    const baseline = runBundle(out).find((x) => x.event === "baseline");
    expect(baseline.previous).toContain("the first run");
    expect(baseline.build.parts.ato.path).toBe(binary);
    expect(verifies(hup!)).toBe(0);
    expect(verifies(edit!)).toBe(0);
  });

  test("the next start from another build: the change is recorded as applied, and the upgrade with from/to commit and hashes", async () => {
    const built = join(tmp, "ato-next");
    const b = Bun.spawnSync(["bun", "build", "src/main.ts", "src/metrics/worker.ts", "src/verify/hash-worker.ts", "--compile", "--outfile", built, "--define", 'ATO_COMMIT="upgrade-test"'], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
    expect(b.exitCode).toBe(0);
    renameSync(built, binary); // replaced in place, as dpkg does
    const run = start(200);
    await run.waitFor(/upgrade recorded as operation/);
    const out = await run.stop();
    const [cfg] = recorded(out, "config change");
    const c = bundle(cfg!);
    expect(c[0]).toMatchObject({ trigger: "ato run start", applied: true });
    const changed = c.find((x) => x.event === "config_changed");
    // the file's change and the flag's: the settings the run resolved to, whatever set them (the conservation
    // check's cadence follows the interval: one checkpoint period, 10 s, of 1,500 ms, then of 200 ms)
    expect(changed.changed).toEqual([{ setting: "checkpointEvery", before: "5000", after: "6000" }, { setting: "conservationEvery", before: "7", after: "50" }, { setting: "intervalMs", before: "1500", after: "200" }]);
    expect(changed.before.settings_sha256).not.toBe(changed.after.settings_sha256);
    const [up] = recorded(out, "upgrade");
    const u = bundle(up!).find((x) => x.event === "upgraded");
    expect(u.changed).toEqual(["commit", "ato"]);
    expect(u.to.commit).toBe("upgrade-test");
    expect(u.from.commit).not.toBe("upgrade-test");
    expect(u.from.ato.sha256).not.toBe(u.to.ato.sha256);
    expect(u.from["xdp_audit.o"].sha256).toBe(u.to["xdp_audit.o"].sha256);
    expect(u.to.dpkg).toBeNull(); // a file no package owns
    expect(verifies(cfg!)).toBe(0);
    expect(verifies(up!)).toBe(0);
  });

  test("the same version with bytes appended is an upgrade of the binary alone; an unchanged restart records nothing and reads no binary again", async () => {
    appendFileSync(binary, Buffer.from("appended\n")); // the runtime still starts (its payload is found from the end)
    const c = start(200);
    await c.waitFor(/upgrade recorded as operation/);
    const outC = await c.stop();
    const u = bundle(recorded(outC, "upgrade")[0]!).find((x) => x.event === "upgraded");
    expect(u.changed).toEqual(["ato"]);
    expect(recorded(outC, "config change")).toEqual([]);

    const d = start(200);
    await d.waitFor(/attached on/);
    await Bun.sleep(1500);
    const outD = await d.stop();
    expect(recorded(outD, "upgrade")).toEqual([]);
    expect(recorded(outD, "config change")).toEqual([]);
    const baseline = runBundle(outD).find((x) => x.event === "baseline");
    expect(baseline).toMatchObject({ previous: "last-run.json", files_read: 0 });
  });

  test("a last-run.json edited to hide a change is not believed: the run says so and starts a new baseline", async () => {
    const state = join(setup.auditDir, "attest", "last-run.json");
    writeFileSync(state, readFileSync(state, "utf8").replace('"6000"', '"7000"'));
    const run = start(200);
    await run.waitFor(/last run's record \S+ ignored \(its signature does not match/);
    const out = await run.stop();
    expect(recorded(out, "config change")).toEqual([]);
    expect(runBundle(out).find((x) => x.event === "baseline").previous).toContain("ignored: its signature does not match");
  });

  test("an upgrade names the Debian package and version that own the binary, where one does", async () => {
    // The run-start check asks dpkg as the SBOM does; here for a file this host's dpkg owns (the .deb's
    // /usr/lib/ato/ato is owned the same way once installed).
    expect(await dpkgOf(SOFTHSM_MODULE)).toMatchObject({ package: "libsofthsm2", version: expect.stringMatching(/^\d/) });
    expect(await dpkgOf(binary)).toBeNull();
  });

  test("no bundle or state file holds the PIN or the SO PIN", () => {
    const dir = join(setup.auditDir, "attest");
    for (const f of readdirSync(dir).filter((n) => !n.endsWith(".sig") && n !== "pending")) {
      const text = readFileSync(join(dir, f), "utf8");
      expect(text).not.toContain(setup.token.pin);
      expect(text).not.toContain(soPin);
    }
  });
});
