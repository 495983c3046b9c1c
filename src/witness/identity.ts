/**
 * A witness's identity in its state directory: identity.json names it and says where its key
 * is (a key file beside it, mode 0600, or a PKCS#11 token); `ato witness init` writes both.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import type { OpenSignerOptions } from "../signer/index.ts";
import { createKeyFile, loadKeyFile, loadPkcs11Key, type WitnessKey } from "./key.ts";
import { checkKeyName } from "./vkey.ts";

export const KEY_FILE = "witness.key";
const IDENTITY_FILE = "identity.json";

interface Identity {
  v: 1;
  name: string;
  key: { kind: "file"; file: string } | { kind: "pkcs11"; token_label?: string; key_label?: string };
}

export function initWitness(stateDir: string, name: string, pkcs11?: OpenSignerOptions): WitnessKey {
  checkKeyName(name);
  const idPath = join(stateDir, IDENTITY_FILE);
  if (existsSync(idPath)) throw new AtoError(`${idPath} exists: this directory already holds a witness (its key is never replaced)`, "BUSY");
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const id: Identity = pkcs11
    ? { v: 1, name, key: { kind: "pkcs11", token_label: pkcs11.tokenLabel, key_label: pkcs11.keyLabel } }
    : { v: 1, name, key: { kind: "file", file: KEY_FILE } };
  if (!pkcs11) createKeyFile(join(stateDir, KEY_FILE));
  const key = openKey(stateDir, id, pkcs11 ?? {});
  writeFileSync(idPath, `${JSON.stringify(id, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  return key;
}

/** The key named by identity.json; the PIN and module come from `pkcs11` (environment). */
export function openWitnessKey(stateDir: string, pkcs11: OpenSignerOptions = {}): WitnessKey {
  const idPath = join(stateDir, IDENTITY_FILE);
  let id: Identity;
  try {
    id = JSON.parse(readFileSync(idPath, "utf8"));
  } catch (e) {
    throw new AtoError(`cannot read ${idPath}: run 'ato witness init --state ${stateDir} --name NAME' first (${(e as Error).message})`, "NOT_FOUND", { cause: e });
  }
  if (id?.v !== 1 || typeof id.name !== "string" || !id.key) throw new AtoError(`${idPath} is not a witness identity`, "CORRUPT");
  return openKey(stateDir, id, pkcs11);
}

function openKey(stateDir: string, id: Identity, pkcs11: OpenSignerOptions): WitnessKey {
  if (id.key.kind === "file") return loadKeyFile(join(stateDir, id.key.file), id.name);
  return loadPkcs11Key(id.name, { ...pkcs11, tokenLabel: pkcs11.tokenLabel ?? id.key.token_label, keyLabel: pkcs11.keyLabel ?? id.key.key_label });
}
