/** Finding a signing key pair on a token by label, and describing the keys a token holds. */
import { AtoError } from "../errors.ts";
import { pkcs11js, readUlong, type Handle } from "./module.ts";
import { detectAlgorithm, ecPointToSpki } from "./keytype.ts";
import type { Pkcs11Session } from "./session.ts";
import type { SignatureAlgorithm } from "./types.ts";

export interface KeyPairRef {
  label: string;
  /** Absent when the session is not logged in (private keys are then invisible). */
  privateKey?: Handle;
  publicKey: Handle;
  algorithm: SignatureAlgorithm;
  spkiDer: Uint8Array;
}

/**
 * The key pair labelled `label`: the private key (when `withPrivate`) and the public key,
 * matched by label or else by the private key's CKA_ID, as pkcs11-tool and ato both create them.
 */
export function findKeyPair(session: Pkcs11Session, label: string, withPrivate: boolean): KeyPairRef {
  const P = pkcs11js();
  const where = `token '${session.token.label}'`;
  const one = (cls: number, kind: string, extra: { type: number; value: Buffer }[] = []): Handle | undefined => {
    const found = session.findObjects([{ type: P.CKA_CLASS, value: cls }, ...extra]);
    if (found.length > 1) throw new AtoError(`${where} holds ${found.length} ${kind}s labelled '${label}'; labels must be unique`, "HSM");
    return found[0];
  };
  const byLabel = { type: P.CKA_LABEL, value: Buffer.from(label, "utf8") };

  const privateKey = withPrivate ? one(P.CKO_PRIVATE_KEY, "private key", [byLabel]) : undefined;
  if (withPrivate && !privateKey) throw new AtoError(`no private key labelled '${label}' on ${where}${keysHint(session)}`, "HSM");
  const id = privateKey && session.attribute(privateKey, P.CKA_ID);
  const publicKey =
    one(P.CKO_PUBLIC_KEY, "public key", [byLabel]) ??
    (id?.length ? one(P.CKO_PUBLIC_KEY, "public key", [{ type: P.CKA_ID, value: id }]) : undefined);
  if (!publicKey) {
    const hint = withPrivate ? "; ato needs it to export the public key" : session.loggedIn ? publicKeysHint(session) : " (set PKCS11_PIN if the token shows it only after login)";
    throw new AtoError(`no public key labelled '${label}' on ${where}${hint}`, "HSM");
  }

  const typeOf = (h: Handle) => readUlong(session.attribute(h, P.CKA_KEY_TYPE) ?? Buffer.alloc(8, 0xff));
  const keyType = typeOf(privateKey ?? publicKey);
  if (privateKey && typeOf(publicKey) !== keyType) {
    throw new AtoError(`the private and public key '${label}' on ${where} are of different types`, "HSM");
  }
  const params = (privateKey && session.attribute(privateKey, P.CKA_EC_PARAMS)) ?? session.attribute(publicKey, P.CKA_EC_PARAMS);
  const detected = detectAlgorithm(keyType, params);
  if ("unsupported" in detected) {
    throw new AtoError(`key '${label}' on ${where} is ${detected.unsupported}; ato signs with Ed25519 or ECDSA P-256 keys`, "HSM");
  }
  const point = session.attribute(publicKey, P.CKA_EC_POINT);
  if (!point) throw new AtoError(`public key '${label}' on ${where} has no readable CKA_EC_POINT`, "HSM");
  return { label, privateKey, publicKey, algorithm: detected.algorithm, spkiDer: ecPointToSpki(detected.algorithm, point) };
}

export interface KeyDescription {
  class: "private" | "public";
  label: string;
  id: string;
  type: string;
}

/** Every private and public key the session can see, with the algorithm ato would use it for. */
export function listKeys(session: Pkcs11Session): KeyDescription[] {
  const P = pkcs11js();
  const out: KeyDescription[] = [];
  for (const [cls, name] of [[P.CKO_PRIVATE_KEY, "private"], [P.CKO_PUBLIC_KEY, "public"]] as const) {
    for (const h of session.findObjects([{ type: P.CKA_CLASS, value: cls }])) {
      const keyType = session.attribute(h, P.CKA_KEY_TYPE);
      const detected = keyType ? detectAlgorithm(readUlong(keyType), session.attribute(h, P.CKA_EC_PARAMS)) : { unsupported: "unknown" };
      out.push({
        class: name,
        label: session.attribute(h, P.CKA_LABEL)?.toString("utf8") ?? "",
        id: session.attribute(h, P.CKA_ID)?.toString("hex") ?? "",
        type: "algorithm" in detected ? detected.algorithm : detected.unsupported,
      });
    }
  }
  return out;
}

function keysHint(session: Pkcs11Session, cls: "private" | "public" = "private"): string {
  const labels = [...new Set(listKeys(session).filter((k) => k.class === cls).map((k) => `'${k.label}'`))];
  return labels.length ? ` (${cls} keys present: ${labels.join(", ")}; set HSM_KEY_LABEL or --key-label)` : ` (it holds no ${cls} key; run 'ato hsm init')`;
}

const publicKeysHint = (session: Pkcs11Session) => keysHint(session, "public");
