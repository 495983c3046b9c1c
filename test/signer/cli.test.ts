/** `ato hsm init | pubkey | info` as a user runs them: a child process, PINs in the environment only. */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openSigner, spkiFromPem, spkiToPem } from "../../src/signer/index.ts";
import { createSoftHsm, createToken, type SoftHsm } from "../support/softhsm.ts";
import { ato, opensslVerify } from "./_openssl.ts";

let hsm: SoftHsm | undefined;
afterEach(() => {
  hsm?.cleanup();
  hsm = undefined;
});

const PIN = "user-7c1f93";
const SO_PIN = "so-2b88e4";
const noSecrets = (r: { stdout: string; stderr: string }) => {
  expect(r.stdout + r.stderr).not.toContain(PIN);
  expect(r.stdout + r.stderr).not.toContain(SO_PIN);
};

describe("[hsm] ato hsm", () => {
  for (const keyType of ["ed25519", "ecdsa-p256"] as const) {
    test(`init makes a token and an ${keyType} key once; pubkey exports a PEM that OpenSSL verifies signatures with`, () => {
      hsm = createSoftHsm();
      const env = { ...hsm.env, PKCS11_PIN: PIN, PKCS11_SO_PIN: SO_PIN, HSM_TOKEN_LABEL: "ato-token", HSM_KEY_LABEL: "checkpoints" };
      const first = ato(["hsm", "init", "--key-type", keyType], env);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toContain("initialised token 'ato-token'");
      expect(first.stdout).toContain(`generated ${keyType} key pair 'checkpoints'`);
      noSecrets(first);

      const again = ato(["hsm", "init", "--key-type", keyType], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("token 'ato-token' exists");
      expect(again.stdout).toContain("key 'checkpoints' exists");
      expect(again.stdout).not.toContain("key pair");

      const pem = join(hsm.dir, "public.pem");
      const pub = ato(["hsm", "pubkey", "--out", pem], { ...env, PKCS11_PIN: undefined });
      expect(pub.code).toBe(0);
      const text = readFileSync(pem, "utf8");
      expect(text).toStartWith("-----BEGIN PUBLIC KEY-----\n");
      expect(Bun.spawnSync(["openssl", "pkey", "-pubin", "-in", pem, "-noout"]).exitCode).toBe(0);

      const signer = openSigner({ modulePath: hsm.modulePath, tokenLabel: "ato-token", pin: PIN, keyLabel: "checkpoints" });
      try {
        expect(signer.algorithm).toBe(keyType);
        expect(spkiFromPem(text)).toEqual(signer.publicKeySpkiDer());
        const msg = new TextEncoder().encode("signed by the key ato hsm init made");
        expect(opensslVerify(keyType, pem, msg, signer.sign(msg), hsm.dir).ok).toBe(true);
      } finally {
        signer.close();
      }

      const info = ato(["hsm", "info", "--json"], env);
      expect(info.code).toBe(0);
      noSecrets(info);
      const report = JSON.parse(info.stdout);
      const tok = report.tokens.find((t: { label: string }) => t.label === "ato-token");
      expect(tok.logged_in).toBe(true);
      expect(tok.keys).toContainEqual(expect.objectContaining({ class: "private", label: "checkpoints", type: keyType }));
      expect(tok.keys.filter((k: { label: string }) => k.label === "checkpoints")).toHaveLength(2); // init twice, one pair
    });
  }

  test("pubkey without --out prints the PEM, also for a key pkcs11-tool made", async () => {
    const tok = await createToken({ keyType: "ecdsa-p256" });
    hsm = tok;
    const r = ato(["hsm", "pubkey"], tok.env);
    expect(r.code).toBe(0);
    const signer = openSigner({ modulePath: tok.modulePath, tokenLabel: tok.tokenLabel, pin: tok.pin, keyLabel: tok.keyLabel });
    try {
      expect(r.stdout).toBe(spkiToPem(signer.publicKeySpkiDer()));
    } finally {
      signer.close();
    }
  });

  test("init without PINs and without a terminal is a usage error that names the variable", () => {
    hsm = createSoftHsm();
    const r = ato(["hsm", "init"], { ...hsm.env, PKCS11_PIN: undefined, PKCS11_SO_PIN: undefined });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("PKCS11_PIN is not set and stdin is not a terminal");
    const so = ato(["hsm", "init"], { ...hsm.env, PKCS11_PIN: PIN, PKCS11_SO_PIN: undefined });
    expect(so.code).toBe(64);
    expect(so.stderr).toContain("PKCS11_SO_PIN");
    noSecrets(so);
  });

  test("init asks for the PINs on a terminal without echoing them", async () => {
    hsm = createSoftHsm();
    const tty = Bun.spawn(["script", "-qefc", `bun ${join(import.meta.dir, "../../src/main.ts")} hsm init`, "/dev/null"], {
      env: { ...process.env, ...hsm.env, PKCS11_PIN: "", PKCS11_SO_PIN: "" },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    let out = "";
    const reading = (async () => {
      for await (const chunk of tty.stdout) out += new TextDecoder().decode(chunk);
    })();
    for (let i = 0; i < 250 && !out.includes("user PIN"); i++) await Bun.sleep(20);
    tty.stdin.write(`${PIN}\r${PIN}\r${SO_PIN}\r${SO_PIN}\r`); // typed ahead: each prompt takes its own line
    await tty.stdin.end();
    expect(await tty.exited).toBe(0);
    await reading;
    expect(out).toContain("repeat the security officer (SO) PIN");
    expect(out).toContain("generated ed25519 key pair 'ato-ed25519'");
    expect(out).not.toContain(PIN);
    expect(out).not.toContain(SO_PIN);
    openSigner({ modulePath: hsm.modulePath, tokenLabel: "ato-token", pin: PIN, keyLabel: "ato-ed25519" }).close();
  });

  test("init refuses to reuse a label for a key of another type", () => {
    hsm = createSoftHsm();
    const env = { ...hsm.env, PKCS11_PIN: PIN, PKCS11_SO_PIN: SO_PIN, HSM_KEY_LABEL: "k" };
    expect(ato(["hsm", "init", "--key-type", "ed25519"], env).code).toBe(0);
    const r = ato(["hsm", "init", "--key-type", "ecdsa-p256"], env);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("key 'k' on token 'ato-token' is ed25519, not ecdsa-p256");
    expect(ato(["hsm", "init", "--key-type", "rsa"], env).stderr).toContain("--key-type must be one of ed25519, ecdsa-p256");
  });

  test("info with a wrong PIN still lists the public keys, reports the failure, never the PIN", async () => {
    const tok = await createToken({ keyType: "ed25519" });
    hsm = tok;
    const r = ato(["hsm", "info"], { ...tok.env, PKCS11_PIN: PIN });
    expect(r.code).toBe(69);
    expect(r.stdout).toContain(`'${tok.tokenLabel}'`);
    expect(r.stdout).toMatch(/public\s+ed25519\s+'ato-ed25519'/);
    expect(r.stderr).toContain(`wrong PIN for token '${tok.tokenLabel}'`);
    noSecrets(r);
  });

  test("a missing module is named, with exit code 69", () => {
    const r = ato(["hsm", "info", "--module", "/nonexistent/pkcs11.so"], {});
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("PKCS#11 module not found at '/nonexistent/pkcs11.so'");
  });
});
