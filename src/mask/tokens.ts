/**
 * Keyed address tokens: records about the same host carry the same token under one deployment key, so an
 * analyst can correlate them without learning the address; without the key a token cannot be tested against
 * guessed addresses (which a plain hash of an IPv4 address could, in seconds).
 *
 *   token = base64url(HMAC-SHA256(key, family || slot)[0..16))     22 characters
 *
 * `family` is one byte (4 or 6), so an IPv4 address and the IPv6 address with the same leading bytes differ.
 */
import { createHmac, type KeyObject } from "node:crypto";
import { type AddressFamily, SLOT_BYTES } from "./slot.ts";

/** 128 bits: collisions stay out of reach for any number of hosts a log will see. */
export const TOKEN_BYTES = 16;

export class Tokenizer {
  readonly #key: KeyObject;
  readonly #input = new Uint8Array(1 + SLOT_BYTES);

  constructor(key: KeyObject) {
    this.#key = key;
  }

  /** The token of the full (unmasked) address in `slot`. */
  token(family: AddressFamily, slot: Uint8Array): string {
    this.#input[0] = family;
    this.#input.set(slot.subarray(0, SLOT_BYTES), 1);
    const mac = createHmac("sha256", this.#key).update(this.#input).digest();
    return mac.subarray(0, TOKEN_BYTES).toString("base64url");
  }
}
