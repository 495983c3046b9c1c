/**
 * PKCS#11 return values turned into AtoError("HSM") messages that say what went wrong
 * and where (module, token, key), never with a PIN: no caller passes one in.
 */
import { AtoError } from "../errors.ts";

export interface HsmContext {
  module: string;
  token?: string;
  key?: string;
}

/** The CKR_* name of a pkcs11js error ("CKR_PIN_INCORRECT"), or undefined if it is not one. */
export function ckrName(e: unknown): string | undefined {
  const m = e instanceof Error ? /^CKR_\w+/.exec(e.message) : null;
  return m?.[0];
}

/** Return values that mean the token, its session or its objects no longer exist for us. */
const GONE = new Set([
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_TOKEN_NOT_RECOGNIZED",
  "CKR_DEVICE_REMOVED",
  "CKR_DEVICE_ERROR",
  "CKR_SESSION_CLOSED",
  "CKR_SESSION_HANDLE_INVALID",
  "CKR_SLOT_ID_INVALID",
  "CKR_OBJECT_HANDLE_INVALID",
  "CKR_KEY_HANDLE_INVALID",
  "CKR_USER_NOT_LOGGED_IN",
  "CKR_CRYPTOKI_NOT_INITIALIZED",
]);

export function isTokenGone(e: unknown): boolean {
  return GONE.has(ckrName(e) ?? "");
}

/** An AtoError("HSM") for a failed PKCS#11 call; `what` names the operation ("signing"). */
export function hsmError(what: string, e: unknown, ctx: HsmContext): AtoError {
  const ckr = ckrName(e);
  const token = ctx.token === undefined ? undefined : `token '${ctx.token}'`;
  const where = token ?? `PKCS#11 module '${ctx.module}'`;
  const key = ctx.key === undefined ? "the key" : `key '${ctx.key}'`;
  const message = (() => {
    switch (ckr) {
      case "CKR_PIN_INCORRECT":
        return `wrong PIN for ${where}`;
      case "CKR_PIN_LOCKED":
        return `the user PIN of ${where} is locked after too many wrong attempts; the security officer must reset it`;
      case "CKR_PIN_LEN_RANGE":
      case "CKR_PIN_INVALID":
        return `the PIN has a length or characters that ${where} does not accept`;
      case "CKR_PIN_EXPIRED":
        return `the user PIN of ${where} has expired; set a new one`;
      case "CKR_USER_PIN_NOT_INITIALIZED":
        return `${where} has no user PIN yet (run 'ato hsm init')`;
      case "CKR_MECHANISM_INVALID":
        return `${what} failed: ${where} does not support the mechanism ${key} needs (${ckr})`;
      case "CKR_KEY_TYPE_INCONSISTENT":
      case "CKR_KEY_FUNCTION_NOT_PERMITTED":
        return `${what} failed: ${key} on ${where} may not be used for signing (${ckr})`;
      case undefined:
        return `${what} failed on ${where}: ${e instanceof Error ? e.message : String(e)}`;
      default:
        if (GONE.has(ckr)) return `${what} failed: ${where} is gone (${ckr}): removed, deleted or reset; open the signer again when it is back`;
        return `${what} failed on ${where}: ${ckr}`;
    }
  })();
  return new AtoError(message, "HSM", { cause: e });
}
