/**
 * The Masker turns a batch of flows' addresses and ports into what an evidence record may carry: masked
 * addresses ("198.18.1.0/24"), the ports the policy keeps, and, when keys are configured, keyed tokens of the
 * full addresses and the full fields sealed under the record's identity.
 *
 * All addresses of a batch are masked by one call into the NASM routine (ffi/mask.ts); IPv4 and IPv6 flows mix
 * freely, each slot picking its mask by family. Tokens and seals are computed from the caller's unmasked input,
 * which the Masker never modifies.
 */
import { MaskLibrary, type SimdPath } from "../../ffi/mask.ts";
import { AtoError } from "../errors.ts";
import { defaultMaskOptions, type MaskOptions } from "./config.ts";
import { formatAddress } from "./format.ts";
import { hasPorts } from "./ports.ts";
import { maskTable } from "./prefix.ts";
import { Sealer } from "./seal.ts";
import { type FlowFields, revealFlowFields, sealFlowFields } from "./sealed-fields.ts";
import { type AddressFamily, SLOT_BYTES, selectorOf } from "./slot.ts";
import { Tokenizer } from "./tokens.ts";

/** A flow's identifying fields as the collector reads them from a flow_key. */
export interface FlowAddresses {
  family: AddressFamily;
  /** 16-byte slots (bpf/xdp_audit.h): read, never written. */
  src: Uint8Array;
  dst: Uint8Array;
  proto: number;
  sport: number;
  dport: number;
}

/** The record-ready result; absent fields are left out, so canonical JSON never shows them. */
export interface MaskedFlow {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  src_token?: string;
  dst_token?: string;
  sealed?: string;
}

export class Masker {
  readonly options: Readonly<MaskOptions>;
  readonly #lib: MaskLibrary;
  readonly #table: Uint8Array;
  readonly #tokens?: Tokenizer;
  readonly #sealer?: Sealer;
  /** Masked addresses as text, by their masked bits: a /24 or /48 repeats across many flows, its text is made once. */
  readonly #texts = new AddressTexts();
  /** Reused across batches: the slots and selectors handed to the routine. */
  #slots = new Uint8Array(0);
  #sel = new Uint8Array(0);

  private constructor(lib: MaskLibrary, options: MaskOptions) {
    this.#lib = lib;
    this.options = options;
    this.#table = maskTable(options.ipv4Prefix, options.ipv6Prefix);
    if (options.tokenKey) this.#tokens = new Tokenizer(options.tokenKey);
    if (options.sealKey) this.#sealer = new Sealer(options.sealKey);
  }

  /** Opens the masking library; options not given take the defaults (src/mask/config.ts). */
  static open(options: Partial<MaskOptions> = {}): Masker {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const full: MaskOptions = { ...defaultMaskOptions(), ...given };
    maskTable(full.ipv4Prefix, full.ipv6Prefix); // bad prefixes fail before the library is opened
    return new Masker(MaskLibrary.open({ simd: full.simd }), full);
  }

  /** The SIMD routine in use. */
  get simdPath(): SimdPath {
    return this.#lib.path;
  }

  /** Whether records carry sealed fields, and so need an identity each. */
  get seals(): boolean {
    return this.#sealer !== undefined;
  }

  /** Masks `slots` (count x 16 bytes) in place; sel[i] is 0 for an IPv4 slot, 1 for IPv6. One FFI call. */
  maskSlots(slots: Uint8Array, sel: Uint8Array): void {
    this.#lib.maskBatch(slots, sel, this.#table);
  }

  /**
   * Masks the src and dst of `count` 48-byte flow keys (struct flow_key) into `slots` (2 x 16 bytes
   * per key, src then dst), by each key's family: one FFI call, no copy in JavaScript.
   */
  maskKeys(keys: Uint8Array, slots: Uint8Array, count: number): void {
    this.#lib.maskKeys(keys, slots, this.#table, count);
  }

  /**
   * Masks a batch of flows. With a seal key, `identities[i]` is flow i's record identity, the associated data
   * that reveal() must be given again.
   */
  maskFlows(flows: readonly FlowAddresses[], identities?: readonly string[]): MaskedFlow[] {
    if (this.#sealer && identities?.length !== flows.length) {
      throw new AtoError(`sealing needs one record identity per flow: ${flows.length} flows, ${identities?.length ?? 0} identities`, "INTERNAL");
    }
    const n = flows.length;
    if (this.#sel.length < 2 * n) {
      this.#slots = new Uint8Array(2 * n * SLOT_BYTES);
      this.#sel = new Uint8Array(2 * n);
    }
    const slots = this.#slots, sel = this.#sel;
    for (let i = 0; i < n; i++) {
      const flow = flows[i]!;
      checkFlow(flow, i);
      copySlot(flow.src, slots, 2 * i * SLOT_BYTES);
      copySlot(flow.dst, slots, (2 * i + 1) * SLOT_BYTES);
      sel[2 * i] = sel[2 * i + 1] = selectorOf(flow.family);
    }
    this.maskSlots(slots.subarray(0, 2 * n * SLOT_BYTES), sel.subarray(0, 2 * n));
    const out: MaskedFlow[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#record(flows[i]!, slots, 2 * i * SLOT_BYTES, identities?.[i]);
    return out;
  }

  /** The unmasked fields sealed in a record (see Sealer.unseal for the errors). */
  reveal(sealed: string, identity: string): FlowFields {
    if (!this.#sealer) throw new AtoError("revealing sealed fields needs a seal key: set ATO_SEAL_KEY or ATO_SEAL_KEY_FILE", "CONFIG");
    return revealFlowFields(this.#sealer, sealed, identity);
  }

  /** Releases the masking library. */
  close(): void {
    this.#lib.close();
  }

  #record(flow: FlowAddresses, slots: Uint8Array, at: number, identity: string | undefined): MaskedFlow {
    const prefix = flow.family === 4 ? this.options.ipv4Prefix : this.options.ipv6Prefix;
    const out: MaskedFlow = {
      src: this.#texts.text(flow.family, slots, at, prefix),
      dst: this.#texts.text(flow.family, slots, at + SLOT_BYTES, prefix),
    };
    const { keepPorts } = this.options;
    if (keepPorts.keeps(flow.proto, flow.sport)) out.sport = flow.sport;
    if (keepPorts.keeps(flow.proto, flow.dport)) out.dport = flow.dport;
    if (this.#tokens) {
      out.src_token = this.#tokens.token(flow.family, flow.src);
      out.dst_token = this.#tokens.token(flow.family, flow.dst);
    }
    if (this.#sealer && identity !== undefined) out.sealed = sealFlowFields(this.#sealer, fullFields(flow), identity);
    return out;
  }
}

function fullFields(flow: FlowAddresses): FlowFields {
  const fields: FlowFields = { src: formatAddress(flow.family, flow.src), dst: formatAddress(flow.family, flow.dst) };
  if (hasPorts(flow.proto)) {
    fields.sport = flow.sport;
    fields.dport = flow.dport;
  }
  return fields;
}

/** The first 16 bytes of `from` into `to` at `at` (a loop: cheaper than subarray + set for 16 bytes). */
function copySlot(from: Uint8Array, to: Uint8Array, at: number): void {
  for (let b = 0; b < SLOT_BYTES; b++) to[at + b] = from[b]!;
}

/**
 * Text of masked addresses, cached by the address's bits when they fit a number exactly (IPv4;
 * IPv6 whose bytes past the sixth are zero, as a /48 or shorter mask leaves them); others are
 * formatted each time. Bounded: cleared when it holds 65,536 texts.
 */
class AddressTexts {
  readonly #cache = new Map<number, string>();

  text(family: AddressFamily, slots: Uint8Array, at: number, prefix: number): string {
    const key = cacheKey(family, slots, at);
    if (key === undefined) return formatAddress(family, slots.subarray(at, at + SLOT_BYTES), prefix);
    let t = this.#cache.get(key);
    if (t === undefined) {
      if (this.#cache.size >= 65_536) this.#cache.clear();
      t = formatAddress(family, slots.subarray(at, at + SLOT_BYTES), prefix);
      this.#cache.set(key, t);
    }
    return t;
  }
}

/** IPv4: the 32 bits, plus 2^52 so no IPv6 key equals it; IPv6: its first 48 bits when the rest is zero. */
function cacheKey(family: AddressFamily, s: Uint8Array, at: number): number | undefined {
  if (family === 4) return 2 ** 52 + (((s[at]! << 24) | (s[at + 1]! << 16) | (s[at + 2]! << 8) | s[at + 3]!) >>> 0);
  for (let b = 6; b < SLOT_BYTES; b++) if (s[at + b] !== 0) return undefined;
  return (s[at]! * 2 ** 40) + (s[at + 1]! * 2 ** 32) + (((s[at + 2]! << 24) | (s[at + 3]! << 16) | (s[at + 4]! << 8) | s[at + 5]!) >>> 0);
}

function checkFlow(flow: FlowAddresses, i: number): void {
  if (flow.family !== 4 && flow.family !== 6) {
    throw new AtoError(`flow ${i}: expected address family 4 or 6, found ${flow.family}`, "CORRUPT");
  }
  if (flow.src.length < SLOT_BYTES || flow.dst.length < SLOT_BYTES) {
    throw new AtoError(`flow ${i}: expected 16-byte address slots, found ${flow.src.length} and ${flow.dst.length} bytes`, "INTERNAL");
  }
}
