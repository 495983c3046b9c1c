/**
 * The witness's own key: an Ed25519 private key in a PKCS#8 PEM file that only its owner can
 * read (mode 0600, refused otherwise), or an Ed25519 key on a PKCS#11 token through
 * src/signer. Either way it signs cosignature/v1 messages and has a type 0x04 verifier key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { openSigner, type OpenSignerOptions } from "../signer/index.ts";
import type { CosignerKey } from "./cosignature.ts";
import { rawEd25519 } from "./ed25519.ts";
import { TYPE_COSIGNATURE_V1, formatVerifierKey, noteKeyId } from "./vkey.ts";

export interface WitnessKey extends CosignerKey {
  /** The verifier key clients configure: `<name>+<id>+<base64(0x04 || key)>`. */
  readonly vkey: string;
  close(): void;
}

/** Writes a new key file (it must not exist yet), mode 0600 from its creation. */
export function createKeyFile(path: string): void {
  const { privateKey } = generateKeyPairSync("ed25519");
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    throw new AtoError(`cannot create the witness key ${path}: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code === "EEXIST" ? "BUSY" : "IO", { cause: e });
  }
  try {
    writeSync(fd, privateKey.export({ format: "pem", type: "pkcs8" }) as string);
  } finally {
    closeSync(fd);
  }
}

export function loadKeyFile(path: string, name: string): WitnessKey {
  let pem: string;
  try {
    const fd = openSync(path, "r");
    try {
      const mode = fstatSync(fd).mode & 0o777;
      if (mode & 0o077) throw new AtoError(`the witness key ${path} has mode ${mode.toString(8).padStart(4, "0")}; it must be readable by its owner only (chmod 600)`, "PERMISSION");
      pem = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof AtoError) throw e;
    throw new AtoError(`cannot read the witness key ${path}: ${(e as Error).message}`, "NOT_FOUND", { cause: e });
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new AtoError(`${path} is not a PEM private key`, "CORRUPT", { cause: e });
  }
  if (key.asymmetricKeyType !== "ed25519") throw new AtoError(`${path} holds a ${key.asymmetricKeyType} key; a witness signs with Ed25519`, "CORRUPT");
  const spki = Uint8Array.from(createPublicKey(key).export({ format: "der", type: "spki" }));
  return identity(name, rawEd25519(spki)!, (m) => Uint8Array.from(sign(null, m, key)), () => {});
}

/** An Ed25519 key on a PKCS#11 token (module, token, PIN and label as for `ato run`). */
export function loadPkcs11Key(name: string, opts: OpenSignerOptions): WitnessKey {
  const signer = openSigner(opts);
  if (signer.algorithm !== "ed25519") {
    signer.close();
    throw new AtoError(`the token's key '${signer.keyLabel}' is ${signer.algorithm}; cosignature/v1 needs Ed25519`, "HSM");
  }
  return identity(name, rawEd25519(signer.publicKeySpkiDer())!, (m) => signer.sign(m), () => signer.close());
}

function identity(name: string, publicKey: Uint8Array, signFn: (m: Uint8Array) => Uint8Array, close: () => void): WitnessKey {
  const vkey = formatVerifierKey(name, TYPE_COSIGNATURE_V1, publicKey);
  return { name, publicKey, keyId: noteKeyId(name, TYPE_COSIGNATURE_V1, publicKey), vkey, sign: signFn, close };
}
