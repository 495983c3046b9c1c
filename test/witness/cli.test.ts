/**
 * `ato witness` from the command line: init makes a 0600 key and prints a type 0x04 vkey
 * (or uses a PKCS#11 token's Ed25519 key), refuses to replace a witness; serve refuses a key
 * file others can read, a corrupt state and a missing --log, each with its exit code.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TYPE_COSIGNATURE_V1, parseVerifierKey } from "../../src/witness/index.ts";
import { atoIn } from "../support/agent.ts";
import { createToken } from "../support/softhsm.ts";
import { TestLog } from "./_log.ts";
import { WitnessProcess } from "./_witness.ts";

const tmp = mkdtempSync("/tmp/ato-witness-cli-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("init writes a key readable by its owner only and prints its verifier key; a second init is refused", () => {
  const dir = join(tmp, "w1");
  const r = atoIn(null, ["witness", "init", "--state", dir, "--name", "witness.test/cli"]);
  expect(r.code).toBe(0);
  const v = parseVerifierKey(r.stdout.trim());
  expect(v).toMatchObject({ name: "witness.test/cli", type: TYPE_COSIGNATURE_V1 });
  expect(statSync(join(dir, "witness.key")).mode & 0o777).toBe(0o600);
  expect(atoIn(null, ["witness", "vkey", "--state", dir]).stdout.trim()).toBe(r.stdout.trim());
  const again = atoIn(null, ["witness", "init", "--state", dir, "--name", "witness.test/cli"]);
  expect(again.code).toBe(75);
  expect(again.stderr).toMatch(/already holds a witness/);
  expect(atoIn(null, ["witness", "init", "--state", join(tmp, "bad"), "--name", "has space"]).code).toBe(64);
});

test("serve refuses a key file others can read (77), a corrupt state (65), no log (64) and a bad --log (64)", () => {
  const dir = join(tmp, "w2");
  expect(atoIn(null, ["witness", "init", "--state", dir, "--name", "witness.test/cli2"]).code).toBe(0);
  const pem = join(tmp, "log.pem");
  const k = Bun.spawnSync(["openssl", "genpkey", "-algorithm", "ed25519"], { stdout: "pipe" }).stdout;
  writeFileSync(join(tmp, "log.key"), k);
  Bun.spawnSync(["openssl", "pkey", "-in", join(tmp, "log.key"), "-pubout", "-out", pem]);
  const serve = (extra: string[]) => atoIn(null, ["witness", "serve", "--state", dir, "--listen", "127.0.0.1:0", ...extra]);
  expect(serve([]).code).toBe(64);
  expect(serve(["--log", "no-equals-sign"]).code).toBe(64);
  expect(serve(["--log", `ato/x/y=${join(tmp, "missing.pem")}`]).code).toBe(64);
  chmodSync(join(dir, "witness.key"), 0o644);
  const open = serve(["--log", `ato/x/y=${pem}`]);
  expect(open.code).toBe(77);
  expect(open.stderr).toMatch(/mode 0644; it must be readable by its owner only/);
  chmodSync(join(dir, "witness.key"), 0o600);
  writeFileSync(join(dir, "logs", `${"0".repeat(64)}.json`), "{not json");
  const corrupt = serve(["--log", `ato/x/y=${pem}`]);
  expect(corrupt.code).toBe(65);
  expect(corrupt.stderr).toMatch(/is corrupt .* refusing to start/);
  expect(readdirSync(join(dir, "logs"))).toHaveLength(1); // nothing was reset
});

test("[hsm] init --pkcs11 uses the token's Ed25519 key: the vkey is that key's", async () => {
  const token = await createToken({ keyType: "ed25519" });
  try {
    const env = { ...token.env, PKCS11_PIN: token.pin, HSM_KEY_LABEL: token.keyLabel, HSM_TOKEN_LABEL: token.tokenLabel };
    const r = atoIn(null, ["witness", "init", "--state", join(tmp, "w3"), "--name", "witness.test/hsm", "--pkcs11"], env);
    expect(r.code).toBe(0);
    const pub = join(tmp, "token.pem");
    expect(atoIn(null, ["hsm", "pubkey", "--out", pub], env).code).toBe(0);
    const der = Bun.spawnSync(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"], { stdout: "pipe" }).stdout;
    expect(Buffer.from(parseVerifierKey(r.stdout.trim()).publicKey).equals(Buffer.from(der).subarray(12))).toBe(true);
    expect(atoIn(null, ["witness", "vkey", "--state", join(tmp, "w3")], env).stdout.trim()).toBe(r.stdout.trim());
  } finally {
    await token.cleanup();
  }
});

test("serve with --config: the file's logs are witnessed; SIGTERM stops it with exit 0", async () => {
  const dir = join(tmp, "w4");
  expect(atoIn(null, ["witness", "init", "--state", dir, "--name", "witness.test/cfg"]).code).toBe(0);
  const logs = [new TestLog("ato/cfg/one", 4), new TestLog("ato/cfg/two", 6)];
  const config = join(tmp, "witness.json");
  writeFileSync(config, JSON.stringify({ state: dir, listen: "127.0.0.1:0", logs: [`${logs[0]!.origin}=${logs[0]!.writePem(join(tmp, "one.pem"))}`, { origin: logs[1]!.origin, key: logs[1]!.writePem(join(tmp, "two.pem")) }] }));
  const w = await WitnessProcess.start(null, dir, [], "127.0.0.1:0", ["--config", config]);
  try {
    for (const l of logs) expect((await fetch(`${w.url}/add-checkpoint`, { method: "POST", body: l.request(0) })).status).toBe(200);
    expect(await (await fetch(`${w.url}/metrics`)).text()).toMatch(/^ato_witness_logs 2$/m);
  } finally {
    await w.kill("SIGTERM");
  }
  expect(w.proc.exitCode).toBe(0);
});
