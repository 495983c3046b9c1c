/**
 * One loaded PKCS#11 module per path, shared by every session in the process.
 *
 * A module is process-global state: loading the same library twice gives the same
 * library, and C_Finalize by one user would end every other user's sessions. So modules
 * are reference-counted: the first acquire loads and C_Initializes, the last release
 * C_Finalizes and unloads, exactly once. pkcs11js (a native addon) is loaded on first
 * use, so importing the signer never loads native code.
 */
import { existsSync } from "node:fs";
import { endianness } from "node:os";
import type * as P from "pkcs11js";
import { AtoError } from "../errors.ts";
import { ckrName, hsmError } from "./_errors.ts";

export type Pkcs11Js = typeof P;
export type Handle = P.Handle;

let binding: Pkcs11Js | undefined;

export function pkcs11js(): Pkcs11Js {
  return (binding ??= require("pkcs11js") as Pkcs11Js);
}

/** A slot that holds a token, as C_GetTokenInfo describes it (labels without their blank padding). */
export interface TokenRef {
  slot: Handle;
  label: string;
  serial: string;
  model: string;
  manufacturer: string;
  initialized: boolean;
  userPinInitialized: boolean;
}

export class Pkcs11Module {
  private static readonly loaded = new Map<string, Pkcs11Module>();
  private refs = 1;

  private constructor(
    readonly path: string,
    readonly p: P.PKCS11,
    private readonly finalizeOnRelease: boolean,
  ) {}

  /** Loads and initializes the module at `path`, or shares the one already loaded. */
  static acquire(path: string): Pkcs11Module {
    const open = Pkcs11Module.loaded.get(path);
    if (open) {
      open.refs++;
      return open;
    }
    if (!existsSync(path)) {
      throw new AtoError(`PKCS#11 module not found at '${path}' (set PKCS11_MODULE_PATH or --module)`, "HSM");
    }
    const p = new (pkcs11js().PKCS11)();
    try {
      p.load(path);
    } catch (e) {
      throw new AtoError(`could not load PKCS#11 module '${path}': ${(e as Error).message}`, "HSM", { cause: e });
    }
    let ownInit = true;
    try {
      p.C_Initialize();
    } catch (e) {
      if (ckrName(e) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
        p.close();
        throw hsmError("initialising the module", e, { module: path });
      }
      ownInit = false; // someone else in this process initialised it; they finalize it
    }
    const mod = new Pkcs11Module(path, p, ownInit);
    Pkcs11Module.loaded.set(path, mod);
    return mod;
  }

  /** Paths of the modules currently loaded (for tests that check nothing leaks). */
  static loadedPaths(): string[] {
    return [...Pkcs11Module.loaded.keys()];
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    Pkcs11Module.loaded.delete(this.path);
    try {
      if (this.finalizeOnRelease) this.p.C_Finalize();
    } catch {
      // The module may already be broken (token gone); there is nothing left to undo.
    }
    try {
      this.p.close();
    } catch {
      // as above
    }
  }

  info(): { manufacturer: string; description: string; version: string; cryptoki: string } {
    try {
      const i = this.p.C_GetInfo();
      return {
        manufacturer: trimPadded(i.manufacturerID),
        description: trimPadded(i.libraryDescription),
        version: `${i.libraryVersion.major}.${i.libraryVersion.minor}`,
        cryptoki: `${i.cryptokiVersion.major}.${i.cryptokiVersion.minor}`,
      };
    } catch (e) {
      throw hsmError("reading module information", e, { module: this.path });
    }
  }

  /** Every slot with a token present, initialised or not. */
  tokens(): TokenRef[] {
    const P = pkcs11js();
    let slots: Handle[];
    try {
      slots = this.p.C_GetSlotList(true);
    } catch (e) {
      throw hsmError("listing the slots", e, { module: this.path });
    }
    const out: TokenRef[] = [];
    for (const slot of slots) {
      let t: P.TokenInfo;
      try {
        t = this.p.C_GetTokenInfo(slot);
      } catch {
        continue; // removed between the two calls
      }
      out.push({
        slot,
        label: trimPadded(t.label),
        serial: trimPadded(t.serialNumber),
        model: trimPadded(t.model),
        manufacturer: trimPadded(t.manufacturerID),
        initialized: (t.flags & P.CKF_TOKEN_INITIALIZED) !== 0,
        userPinInitialized: (t.flags & P.CKF_USER_PIN_INITIALIZED) !== 0,
      });
    }
    return out;
  }
}

/** PKCS#11 strings are blank padded to a fixed size; some modules pad with NUL instead. */
function trimPadded(s: string): string {
  return s.replace(/[\s\0]+$/, "");
}

/** A CK_ULONG attribute value (native endianness and width: 4 or 8 bytes). */
export function readUlong(b: Buffer): number {
  const le = endianness() === "LE";
  if (b.length === 8) return Number(le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0));
  if (b.length === 4) return le ? b.readUInt32LE(0) : b.readUInt32BE(0);
  throw new AtoError(`unexpected CK_ULONG of ${b.length} bytes from the PKCS#11 module`, "HSM");
}
