/**
 * `ato hsm` reads its settings and secrets through the same resolver as `ato run`: the PINs from files
 * (PKCS11_PIN_FILE, PKCS11_SO_PIN_FILE, as Docker and systemd credentials give them) and from a config file.
 * SoftHSM for real; the signer then logs in with the PIN the file held.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openSigner } from "../../src/signer/index.ts";
import { createSoftHsm, type SoftHsm } from "../support/softhsm.ts";
import { ato } from "./_run.ts";

let hsm: SoftHsm | undefined;
afterEach(() => {
  hsm?.cleanup();
  hsm = undefined;
});

const PIN = `pin-${process.pid}-f1le`;
const SO_PIN = `so-${process.pid}-f1le`;

describe("[hsm] ato hsm with secrets from files", () => {
  test("init takes PKCS11_PIN_FILE and PKCS11_SO_PIN_FILE (trailing newline not part of the PIN); the key signs with that PIN", () => {
    hsm = createSoftHsm();
    const pinFile = join(hsm.dir, "pin");
    const soFile = join(hsm.dir, "so-pin");
    writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
    writeFileSync(soFile, `${SO_PIN}\n`, { mode: 0o600 });
    const env = { ...hsm.env, PKCS11_PIN: undefined, PKCS11_SO_PIN: undefined, PKCS11_PIN_FILE: pinFile, PKCS11_SO_PIN_FILE: soFile };
    const r = ato(["hsm", "init"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("initialised token 'ato-token'");
    expect(r.stdout).toContain("generated ed25519 key pair 'ato-ed25519'");
    expect(r.stdout + r.stderr).not.toContain(PIN);

    const signer = openSigner({ modulePath: hsm.modulePath, tokenLabel: "ato-token", pin: PIN, keyLabel: "ato-ed25519" });
    signer.close();

    // The same PIN file named in a config file, for info (which logs in to list private keys).
    const config = join(hsm.dir, "ato.env");
    writeFileSync(config, `PKCS11_PIN_FILE=${pinFile}\nHSM_TOKEN_LABEL=ato-token\n`);
    const info = ato(["hsm", "info", "--json", "--config", config], { ...hsm.env, PKCS11_PIN: undefined, PKCS11_PIN_FILE: undefined });
    expect(info.code).toBe(0);
    const token = JSON.parse(info.stdout).tokens.find((t: { label: string }) => t.label === "ato-token");
    expect(token.logged_in).toBe(true);
    expect(token.keys).toContainEqual(expect.objectContaining({ class: "private", label: "ato-ed25519" }));
  });

  test("a PIN given twice, or a PIN file that cannot be read, is one CONFIG line without the PIN", () => {
    hsm = createSoftHsm();
    const pinFile = join(hsm.dir, "pin");
    writeFileSync(pinFile, PIN);
    const both = ato(["hsm", "init"], { ...hsm.env, PKCS11_PIN: PIN, PKCS11_PIN_FILE: pinFile, PKCS11_SO_PIN: SO_PIN });
    expect(both.code).toBe(78);
    expect(both.stderr).toBe("ato: set PKCS11_PIN or PKCS11_PIN_FILE, not both (from environment)\n");
    const missing = join(hsm.dir, "absent");
    const gone = ato(["hsm", "init"], { ...hsm.env, PKCS11_PIN: undefined, PKCS11_PIN_FILE: missing, PKCS11_SO_PIN: SO_PIN });
    expect(gone.code).toBe(78);
    expect(gone.stderr).toContain(`PKCS11_PIN_FILE must name a readable file; cannot read ${missing} (ENOENT)`);
    expect(both.stderr + gone.stderr).not.toContain(PIN);
  });
});
