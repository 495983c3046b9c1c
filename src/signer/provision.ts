/**
 * Creating what the signer needs, through PKCS#11 itself (no PINs on any command line):
 * a token on a free slot (C_InitToken, then the user PIN via C_InitPIN) and a key pair
 * that never leaves the token (C_GenerateKeyPair, sensitive and not extractable).
 */
import { randomBytes } from "node:crypto";
import { AtoError } from "../errors.ts";
import { hsmError } from "./_errors.ts";
import { pkcs11js, type Pkcs11Module, type TokenRef } from "./module.ts";
import { findKeyPair, type KeyPairRef } from "./keys.ts";
import { CKM, EC_PARAMS } from "./keytype.ts";
import type { Pkcs11Session } from "./session.ts";
import type { SignatureAlgorithm } from "./types.ts";

/** CK_TOKEN_INFO.label is 32 bytes, blank padded, not NUL terminated. */
function paddedTokenLabel(label: string): string {
  const bytes = Buffer.byteLength(label, "utf8");
  if (bytes === 0 || bytes > 32) throw new AtoError(`a token label must be 1 to 32 bytes long; '${label}' is ${bytes}`, "USAGE");
  return label + " ".repeat(32 - bytes);
}

/** Initialises the token of the first free slot with `label`, the SO PIN and the user PIN. */
export function initToken(module: Pkcs11Module, label: string, soPin: string, userPin: string): TokenRef {
  const P = pkcs11js();
  const padded = paddedTokenLabel(label);
  const free = module.tokens().find((t) => !t.initialized);
  if (!free) throw new AtoError(`PKCS#11 module '${module.path}' has no free slot to initialise a token in`, "HSM");
  const ctx = { module: module.path, token: label };
  try {
    module.p.C_InitToken(free.slot, soPin, padded);
  } catch (e) {
    throw hsmError("initialising the token", e, ctx);
  }
  // Some modules (SoftHSM) move the new token to another slot: look it up again.
  const token = module.tokens().find((t) => t.initialized && t.label === label);
  if (!token) throw new AtoError(`token '${label}' was initialised but the module does not list it`, "HSM");
  let session: Buffer | undefined;
  try {
    session = module.p.C_OpenSession(token.slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
    module.p.C_Login(session, P.CKU_SO, soPin);
    module.p.C_InitPIN(session, userPin);
    module.p.C_Logout(session);
  } catch (e) {
    throw hsmError("setting the user PIN", e, ctx);
  } finally {
    try {
      if (session) module.p.C_CloseSession(session);
    } catch {
      // nothing to undo on a session that is already gone
    }
  }
  return { ...token, userPinInitialized: true };
}

/** Generates a token key pair labelled `label` in a logged-in read/write session. */
export function generateKeyPair(session: Pkcs11Session, algorithm: SignatureAlgorithm, label: string): KeyPairRef {
  const P = pkcs11js();
  const id = randomBytes(16); // ties the two halves together for tools that match by CKA_ID
  const common = [
    { type: P.CKA_TOKEN, value: true },
    { type: P.CKA_LABEL, value: Buffer.from(label, "utf8") },
    { type: P.CKA_ID, value: id },
  ];
  const publicTemplate = [...common, { type: P.CKA_EC_PARAMS, value: Buffer.from(EC_PARAMS[algorithm]) }, { type: P.CKA_VERIFY, value: true }, { type: P.CKA_PRIVATE, value: false }];
  const privateTemplate = [
    ...common,
    { type: P.CKA_SIGN, value: true },
    { type: P.CKA_PRIVATE, value: true },
    { type: P.CKA_SENSITIVE, value: true },
    { type: P.CKA_EXTRACTABLE, value: false },
  ];
  const mechanism = algorithm === "ed25519" ? CKM.EC_EDWARDS_KEY_PAIR_GEN : CKM.EC_KEY_PAIR_GEN;
  try {
    session.p.C_GenerateKeyPair(session.handle, { mechanism }, publicTemplate, privateTemplate);
  } catch (e) {
    throw hsmError(`generating an ${algorithm} key pair`, e, session.context(label));
  }
  return findKeyPair(session, label, true);
}
