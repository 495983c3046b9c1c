/**
 * The systemd unit's promise, for real: `dist/ato run` as a non-root user holding exactly the
 * capabilities deploy/systemd/ato.service grants (read from the unit, so the two cannot drift)
 * attaches on a lab interface, writes and signs evidence that verifies, and makes the log
 * append-only; the same user without CAP_BPF (or CAP_PERFMON) is refused with a line naming it,
 * and `ato doctor` names it too. setpriv sets uid, gid, and the inheritable, ambient and
 * bounding sets as systemd's User=, AmbientCapabilities= and CapabilityBoundingSet= do.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomInt } from "node:crypto";
import { resolve } from "node:path";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";
import { CAPS, type CapName } from "../../src/kernel/caps.ts";

const ROOT = resolve(import.meta.dir, "../..");
const ATO = `${ROOT}/dist/ato`;
const UNIT = readFileSync(`${ROOT}/deploy/systemd/ato.service`, "utf8");

/** A directive's capability list, as written in the unit. */
function unitCaps(key: string): string[] {
  const line = new RegExp(`^${key}=(.*)$`, "m").exec(UNIT);
  if (!line) throw new Error(`deploy/systemd/ato.service has no ${key}=`);
  return line[1]!.trim().split(/\s+/);
}
const GRANTED = unitCaps("AmbientCapabilities");
const setprivCaps = (caps: string[]) => ["-all", ...caps.map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`)].join(",");

// A uid and gid no account uses, unique to this run: the files the agent makes must be its own.
const UID = 61000 + randomInt(4000);
let lab: Lab;
let token: TestToken;
let work: string;
const pinDir = uniquePinDir("deploy-caps");

beforeAll(async () => {
  lab = createLab();
  token = await createToken({ keyType: "ed25519" });
  work = mkdtempSync("/tmp/ato-deploy-caps-");
  for (const d of ["audit", "run"]) mkdirSync(`${work}/${d}`);
  // The PIN as the unit passes it: a file (its credential), not the environment.
  writeFileSync(`${work}/pin`, `${token.pin}\n`, { mode: 0o400 });
  mkdirSync(pinDir, { mode: 0o700 });
  for (const p of [work, `${work}/audit`, `${work}/run`, `${work}/pin`, pinDir]) chownSync(p, UID, UID);
  Bun.spawnSync(["chown", "-R", `${UID}:${UID}`, token.dir]);
}, 60_000);

afterAll(() => {
  lab?.destroy();
  if (work) {
    Bun.spawnSync(["chattr", "-R", "-a", work], { stderr: "ignore" });
    rmSync(work, { recursive: true, force: true });
  }
  rmSync(pinDir, { recursive: true, force: true });
  token?.cleanup();
});

function asUser(caps: string[], argv: string[]): string[] {
  const set = setprivCaps(caps);
  return ["nsenter", `--net=/run/netns/${lab.server.ns}`, "setpriv", "--reuid", `${UID}`, "--regid", `${UID}`, "--clear-groups",
    "--no-new-privs", `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, ...argv];
}

const env = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin", SOFTHSM2_CONF: token.env.SOFTHSM2_CONF!, PKCS11_PIN_FILE: `${work}/pin`,
  HSM_TOKEN_LABEL: token.tokenLabel, HSM_KEY_LABEL: token.keyLabel, ATO_RUN_DIR: `${work}/run`, TMPDIR: work,
});
const runArgs = () => ["run", "--iface", lab.server.dev, "--pin-dir", pinDir, "--audit-dir", `${work}/audit`, "--listen", "127.0.0.1:0",
  "--interval-ms", "200", "--checkpoint-seconds", "1", "--keep-ports", "all"];

describe("[kernel][hsm] ato run as a non-root user with the unit's capabilities", () => {
  test("the unit grants CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_LINUX_IMMUTABLE, and bounds itself to them", () => {
    expect([...GRANTED].sort()).toEqual(["CAP_BPF", "CAP_LINUX_IMMUTABLE", "CAP_NET_ADMIN", "CAP_PERFMON"]);
    expect([...unitCaps("CapabilityBoundingSet")].sort()).toEqual([...GRANTED].sort());
    expect(UNIT).toMatch(/^User=ato$/m);
    expect(UNIT).toMatch(/^NoNewPrivileges=yes$/m);
  });

  test("attaches, writes signed evidence that verifies, with the log append-only and owned by that user", async () => {
    const proc = Bun.spawn(asUser(GRANTED, [ATO, ...runArgs()]), { env: env(), stdout: "pipe", stderr: "pipe" });
    let log = "";
    void (async () => { for await (const c of proc.stderr) log += new TextDecoder().decode(c); })();
    try {
      const until = Date.now() + 30_000;
      while (!/XDP audit hook attached/.test(log)) {
        if (proc.exitCode !== null || Date.now() > until) throw new Error(`ato run did not attach:\n${log}`);
        await Bun.sleep(50);
      }
      // The agent really is that user with exactly those capabilities (not root, not more).
      const agentPid = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).find((p) => {
        try { return readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith(`${ATO}\0run`) && readFileSync(`/proc/${p}/status`, "utf8").includes(`\nUid:\t${UID}\t`); } catch { return false; }
      });
      expect(agentPid).toBeDefined();
      const status = readFileSync(`/proc/${agentPid}/status`, "utf8");
      const want = GRANTED.reduce((m, c) => m | (1n << CAPS[c as CapName]), 0n);
      expect(BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(status)![1]}`)).toBe(want);
      expect(BigInt(`0x${/^CapBnd:\s*(\w+)/m.exec(status)![1]}`)).toBe(want);

      lab.exec("client", ["ping", "-c", "5", "-i", "0.1", "-q", lab.server.v4]);
      await Bun.sleep(1500);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited, log).toBe(0);
    expect(log).toMatch(/final checkpoint at tree size \d+ signature_status=ok/);

    const file = `${work}/audit/signed_evidence.log`;
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.filter((r) => r.kind === "flow" && r.data.proto === 1).length).toBeGreaterThan(0);
    expect(Bun.spawnSync(["stat", "-c", "%u", file]).stdout.toString().trim()).toBe(`${UID}`);
    expect(Bun.spawnSync(["lsattr", file]).stdout.toString()).toMatch(/^\S*a\S*\s/);

    const pub = Bun.spawnSync([ATO, "hsm", "pubkey", "--out", `${work}/public.pem`], { env: { ...process.env, ...token.env, PKCS11_PIN: token.pin } });
    expect(pub.exitCode, pub.stderr.toString()).toBe(0);
    const v = Bun.spawnSync([ATO, "verify", `${work}/audit`, "--pubkey", `${work}/public.pem`], { stdout: "pipe", stderr: "pipe" });
    expect(v.exitCode, v.stdout.toString() + v.stderr.toString()).toBe(0);
  }, 90_000);

  for (const lacking of ["CAP_BPF", "CAP_PERFMON"]) {
    test(`without ${lacking}: ato run exits 77 with a line naming it, and ato doctor names it`, () => {
      const caps = GRANTED.filter((c) => c !== lacking);
      const r = Bun.spawnSync(asUser(caps, [ATO, ...runArgs()]), { env: env(), stdout: "pipe", stderr: "pipe" });
      const err = r.stderr.toString();
      expect({ code: r.exitCode, err }).toEqual({ code: 77, err: expect.stringMatching(new RegExp(`^ato: .*lacks ${lacking}\\b`, "m")) });
      const d = Bun.spawnSync(asUser(caps, [ATO, "doctor", "--json"]), { env: env(), stdout: "pipe", stderr: "pipe" });
      expect(d.exitCode).toBe(1);
      const check = JSON.parse(d.stdout.toString()).checks.find((c: { name: string }) => c.name === "privileges");
      expect(check).toMatchObject({ status: "fail", detail: expect.stringContaining(`lacks ${lacking}`) });
    }, 60_000);
  }
});
