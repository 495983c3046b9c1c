/**
 * A session with one token of one PKCS#11 module: find the token by label, open a
 * session, log in, find objects and read their attributes. The session owns one
 * reference to the module and gives it back exactly once, in close().
 */
import type * as P from "pkcs11js";
import { AtoError } from "../errors.ts";
import { ckrName, hsmError, type HsmContext } from "./_errors.ts";
import { pkcs11js, Pkcs11Module, type Handle, type TokenRef } from "./module.ts";
import { TOKEN_LABEL_FALLBACK } from "../config/index.ts";


export interface SessionOptions {
  modulePath: string;
  /** A label the user asked for: that token or an error. Undefined: "ato-token", else the first initialised token. */
  tokenLabel?: string;
  /** Log in as the user with this PIN; without it the session sees public objects only. */
  pin?: string;
  readWrite?: boolean;
}

export class Pkcs11Session {
  private closed = false;
  private user = false;

  private constructor(
    readonly module: Pkcs11Module,
    readonly token: TokenRef,
    readonly handle: Handle,
  ) {}

  static open(opts: SessionOptions): Pkcs11Session {
    const module = Pkcs11Module.acquire(opts.modulePath);
    let handle: Handle | undefined;
    try {
      const token = findToken(module, opts.tokenLabel);
      const P = pkcs11js();
      const ctx = { module: module.path, token: token.label };
      try {
        handle = module.p.C_OpenSession(token.slot, P.CKF_SERIAL_SESSION | (opts.readWrite ? P.CKF_RW_SESSION : 0));
      } catch (e) {
        throw hsmError("opening a session", e, ctx);
      }
      const session = new Pkcs11Session(module, token, handle);
      if (opts.pin !== undefined) session.login(opts.pin);
      return session;
    } catch (e) {
      if (handle) closeQuietly(module, handle);
      module.release();
      throw e;
    }
  }

  get p(): P.PKCS11 {
    if (this.closed) throw new AtoError(`the session with token '${this.token.label}' is closed`, "INTERNAL");
    return this.module.p;
  }

  context(key?: string): HsmContext {
    return { module: this.module.path, token: this.token.label, key };
  }

  /** Logs the user in; "already logged in" (another session of this process did) counts as success. */
  login(pin: string): void {
    if (pin === "") throw new AtoError(`no PIN for token '${this.token.label}' (set PKCS11_PIN)`, "HSM");
    try {
      this.p.C_Login(this.handle, pkcs11js().CKU_USER, pin);
    } catch (e) {
      if (ckrName(e) !== "CKR_USER_ALREADY_LOGGED_IN") throw hsmError("logging in", e, this.context());
    }
    this.user = true;
  }

  get loggedIn(): boolean {
    return this.user;
  }

  findObjects(template: P.Template): Handle[] {
    const found: Handle[] = [];
    try {
      this.p.C_FindObjectsInit(this.handle, template);
      try {
        for (let batch = this.p.C_FindObjects(this.handle, 64); batch.length > 0; batch = this.p.C_FindObjects(this.handle, 64)) {
          found.push(...batch);
        }
      } finally {
        this.p.C_FindObjectsFinal(this.handle);
      }
    } catch (e) {
      throw hsmError("searching for objects", e, this.context());
    }
    return found;
  }

  /** One attribute's value, or undefined when the object has none or keeps it secret. */
  attribute(object: Handle, type: number): Buffer | undefined {
    try {
      const [a] = this.p.C_GetAttributeValue(this.handle, object, [{ type }]);
      return a?.value as Buffer | undefined;
    } catch (e) {
      const ckr = ckrName(e);
      if (ckr === "CKR_ATTRIBUTE_TYPE_INVALID" || ckr === "CKR_ATTRIBUTE_SENSITIVE") return undefined;
      throw hsmError("reading a key attribute", e, this.context());
    }
  }

  /** Closes the session (logging it out with it) and releases the module. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.module, this.handle);
    this.module.release();
  }
}

function closeQuietly(module: Pkcs11Module, handle: Handle): void {
  try {
    module.p.C_CloseSession(handle);
  } catch {
    // A session on a vanished token is already gone.
  }
}

/** The token labelled `label`; without a label, "ato-token" or else the first initialised token. */
export function findToken(module: Pkcs11Module, label: string | undefined): TokenRef {
  const tokens = module.tokens().filter((t) => t.initialized);
  const wanted = label ?? TOKEN_LABEL_FALLBACK;
  const matches = tokens.filter((t) => t.label === wanted);
  if (matches.length > 1) {
    const serials = matches.map((t) => t.serial).join(", ");
    throw new AtoError(`${matches.length} tokens are labelled '${wanted}' (serials ${serials}); labels must be unique`, "HSM");
  }
  if (matches[0]) return matches[0];
  if (label === undefined && tokens[0]) return tokens[0];
  const present = tokens.length ? `tokens present: ${tokens.map((t) => `'${t.label}'`).join(", ")}` : "no initialised token";
  throw new AtoError(`no token labelled '${wanted}' in PKCS#11 module '${module.path}' (${present}; run 'ato hsm init')`, "HSM");
}
