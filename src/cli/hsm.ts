/**
 * `ato hsm`: prepare and inspect the PKCS#11 token that signs checkpoints.
 *   init    create the token (if missing) and the key pair (if missing), idempotently
 *   pubkey  export the public key as a SubjectPublicKeyInfo PEM, for `ato verify` and OpenSSL
 *   info    the module, its tokens and their keys; never a PIN
 * Settings and secrets come through the one resolver (src/config), as for `ato run`: PINs from
 * PKCS11_PIN / PKCS11_SO_PIN, the files PKCS11_PIN_FILE / PKCS11_SO_PIN_FILE name, the config
 * file, or a no-echo prompt on a terminal; they go to the module through PKCS#11 only, never
 * onto a command line.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { findKeyPair, listKeys, type KeyDescription, type KeyPairRef } from "../signer/keys.ts";
import { Pkcs11Module } from "../signer/module.ts";
import { spkiToPem } from "../signer/pem.ts";
import { generateKeyPair, initToken } from "../signer/provision.ts";
import { findToken, Pkcs11Session } from "../signer/session.ts";
import type { SignatureAlgorithm } from "../signer/types.ts";
import { SETTINGS, TOKEN_LABEL_FALLBACK, type CommandName, type Settings } from "../config/index.ts";
import { actionSettings, attestedCommands } from "../attest/index.ts";
import { commandArgs, settingsFor } from "./_args.ts";

/** What every subcommand needs of the HSM settings. */
function hsmSettings(s: Settings) {
  return { modulePath: s.get("modulePath")!, tokenLabel: s.get("tokenLabel"), pin: s.get("pin") || undefined };
}

const init = defineCommand({
  meta: { name: "init", description: "create the token and its signing key pair if they do not exist yet (PINs not set are asked on a terminal, without echo)" },
  args: commandArgs("hsm init"),
  async run({ args, rawArgs }) {
    const s = settingsFor("hsm init", args, rawArgs);
    const algorithm = s.get("keyType")!;
    const o = hsmSettings(s);
    const keyLabel = s.given("keyLabel") ? s.get("keyLabel")! : `ato-${algorithm}`;
    const tokenLabel = o.tokenLabel ?? TOKEN_LABEL_FALLBACK;
    const out = s.get("out");
    const module = Pkcs11Module.acquire(o.modulePath);
    try {
      const existing = module.tokens().some((t) => t.initialized && t.label === tokenLabel);
      const pin = o.pin || (await askSecret("PKCS11_PIN", `user PIN for token '${tokenLabel}'`, !existing));
      if (existing) console.log(`token '${tokenLabel}' exists`);
      else {
        const soPin = s.get("soPin") || (await askSecret("PKCS11_SO_PIN", `security officer (SO) PIN for the new token '${tokenLabel}'`, true));
        const t = initToken(module, tokenLabel, soPin, pin);
        console.log(`initialised token '${tokenLabel}' (serial ${t.serial}) in ${o.modulePath}`);
      }
      const session = Pkcs11Session.open({ modulePath: o.modulePath, tokenLabel, pin, readWrite: true });
      try {
        const key = ensureKey(session, keyLabel, algorithm, s.given("keyType"));
        if (out) writePem(out, key);
        if (keyLabel !== SETTINGS.keyLabel.default || tokenLabel !== TOKEN_LABEL_FALLBACK) {
          console.log(`sign with it: HSM_TOKEN_LABEL=${tokenLabel} HSM_KEY_LABEL=${keyLabel}`);
        }
      } finally {
        session.close();
      }
    } finally {
      module.release();
    }
  },
});

/** The key pair labelled `label`, generated when the token has none; never a second one. */
function ensureKey(session: Pkcs11Session, label: string, algorithm: SignatureAlgorithm, typeGiven: boolean): KeyPairRef {
  const mine = listKeys(session).filter((k) => k.label === label);
  const where = `token '${session.token.label}'`;
  if (mine.some((k) => k.class === "private")) {
    const key = findKeyPair(session, label, true);
    if (typeGiven && key.algorithm !== algorithm) {
      throw new AtoError(`key '${label}' on ${where} is ${key.algorithm}, not ${algorithm}; choose another --key-label`, "USAGE");
    }
    console.log(`key '${label}' exists (${key.algorithm}, ${fingerprint(key)}); nothing generated`);
    return key;
  }
  if (mine.length) throw new AtoError(`${where} has a public key '${label}' without its private key; remove it or choose another --key-label`, "HSM");
  const key = generateKeyPair(session, algorithm, label);
  console.log(`generated ${algorithm} key pair '${label}' on ${where} (${fingerprint(key)})`);
  return key;
}

const pubkey = defineCommand({
  meta: { name: "pubkey", description: "export the signing key's public key as a PEM SubjectPublicKeyInfo" },
  args: commandArgs("hsm pubkey"),
  run({ args, rawArgs }) {
    const s = settingsFor("hsm pubkey", args, rawArgs);
    const o = hsmSettings(s);
    const out = s.get("out");
    const session = Pkcs11Session.open({ modulePath: o.modulePath, tokenLabel: o.tokenLabel, pin: o.pin });
    try {
      const key = findKeyPair(session, s.get("keyLabel")!, false);
      if (out) writePem(out, key);
      else process.stdout.write(spkiToPem(key.spkiDer));
    } finally {
      session.close();
    }
  },
});

const info = defineCommand({
  meta: { name: "info", description: "show the PKCS#11 module, its tokens and their keys (no secrets)" },
  args: commandArgs("hsm info"),
  run({ args, rawArgs }) {
    const s = settingsFor("hsm info", args, rawArgs);
    const o = hsmSettings(s);
    const module = Pkcs11Module.acquire(o.modulePath);
    try {
      const tokens = module.tokens();
      // Only the token ato would sign with gets the PIN: a PIN tried on every token could lock them.
      const ours = tokens.some((t) => t.initialized) ? findTokenOrUndefined(module, o.tokenLabel) : undefined;
      const report = {
        module: { path: o.modulePath, ...module.info() },
        tokens: tokens.map((t) => ({
          label: t.label,
          serial: t.serial,
          model: t.model,
          manufacturer: t.manufacturer,
          initialized: t.initialized,
          user_pin_initialized: t.userPinInitialized,
          ...(t.initialized ? tokenKeys(o.modulePath, t.label, t.serial === ours?.serial ? o.pin : undefined) : {}),
        })),
      };
      console.log(s.get("json") ? JSON.stringify(report, null, 2) : infoText(report));
      const failed = report.tokens.find((t) => t.login_error);
      if (failed) throw new AtoError(`${failed.login_error} (keys listed without logging in)`, "HSM");
    } finally {
      module.release();
    }
  },
});

function findTokenOrUndefined(module: Pkcs11Module, label: string | undefined) {
  try {
    return findToken(module, label);
  } catch {
    return undefined;
  }
}

function tokenKeys(modulePath: string, label: string, pin: string | undefined): { logged_in: boolean; login_error?: string; keys: KeyDescription[] } {
  const session = Pkcs11Session.open({ modulePath, tokenLabel: label });
  try {
    let loginError: string | undefined;
    if (pin) {
      try {
        session.login(pin);
      } catch (e) {
        loginError = (e as Error).message;
      }
    }
    const loggedIn = pin !== undefined && pin !== "" && loginError === undefined;
    return { logged_in: loggedIn, ...(loginError ? { login_error: loginError } : {}), keys: listKeys(session) };
  } finally {
    session.close();
  }
}

type InfoReport = { module: Record<string, string>; tokens: Array<Record<string, unknown> & { keys?: KeyDescription[] }> };

function infoText(r: InfoReport): string {
  const m = r.module;
  const lines = [`module  ${m.path} (${m.manufacturer} ${m.version}, ${m.description}, Cryptoki ${m.cryptoki})`];
  for (const t of r.tokens) {
    if (!t.initialized) {
      lines.push(`token   (free slot: not initialised)`);
      continue;
    }
    const state = t.logged_in ? "logged in" : t.login_error ? `login failed: ${t.login_error}` : "not logged in: private keys hidden (set PKCS11_PIN)";
    lines.push(`token   '${t.label}'  serial ${t.serial}  ${t.manufacturer} ${t.model}  [${state}]`);
    for (const k of t.keys ?? []) lines.push(`  ${k.class.padEnd(8)} ${k.type.padEnd(11)} '${k.label}'  id ${k.id || "-"}`);
    if (!t.keys?.length) lines.push("  (no keys visible)");
  }
  return lines.join("\n");
}

function fingerprint(key: KeyPairRef): string {
  return `sha256:${createHash("sha256").update(key.spkiDer).digest("hex")}`;
}

function writePem(path: string, key: KeyPairRef): void {
  try {
    writeFileSync(path, spkiToPem(key.spkiDer), { mode: 0o644 });
  } catch (e) {
    throw new AtoError(`cannot write the public key to '${path}': ${(e as Error).message}`, "IO", { cause: e });
  }
  console.log(`wrote ${path}: ${key.algorithm} public key '${key.label}' (${fingerprint(key)})`);
}

/** A secret from the environment, else asked on the terminal without echo; never printed. */
async function askSecret(envName: string, what: string, confirm: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new AtoError(`${envName} is not set and stdin is not a terminal to ask for the ${what}; set ${envName} or ${envName}_FILE`, "USAGE");
  }
  const first = await readHidden(`${what}: `);
  if (first === "") throw new AtoError(`the ${what} must not be empty`, "USAGE");
  if (confirm && (await readHidden(`repeat the ${what}: `)) !== first) throw new AtoError(`the two entries of the ${what} differ`, "USAGE");
  return first;
}

/** Keys typed (or pasted) past the end of one answer belong to the next prompt. */
let typedAhead = "";

function readHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true); // no echo
  return new Promise<string>((resolve, reject) => {
    let value = "";
    const finish = (error?: AtoError) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const consume = (text: string): boolean => {
      const chars = [...text];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i]!;
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          typedAhead = chars.slice(ch === "\r" && chars[i + 1] === "\n" ? i + 2 : i + 1).join("");
          finish();
          return true;
        }
        if (ch === "\u0003") {
          finish(new AtoError("cancelled", "USAGE"));
          return true;
        }
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else value += ch;
      }
      return false;
    };
    const onData = (chunk: Buffer) => void consume(chunk.toString("utf8"));
    const pending = typedAhead;
    typedAhead = "";
    if (consume(pending)) return;
    stdin.on("data", onData);
    stdin.resume();
  });
}

export default defineCommand({
  meta: { name: "hsm", description: "initialise the PKCS#11 token and key, export the public key, show what the module holds" },
  // Each action is also an attestation bundle where ato keeps evidence (src/attest/commands.ts).
  subCommands: attestedCommands("hsm", { init, pubkey, info }, (name, ctx) => actionSettings(settingsFor(name as CommandName, ctx.args, ctx.rawArgs))),
});
