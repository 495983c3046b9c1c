/** Address masking for evidence records (docs/ARCHITECTURE.md, "Masking"). */
export { defaultMaskOptions, type MaskOptions } from "./config.ts";
export { formatAddress, parseAddress } from "./format.ts";
export { decodeKey, KEY_BYTES } from "./keys.ts";
export { type FlowAddresses, type MaskedFlow, Masker } from "./masker.ts";
export { hasPorts, PortPolicy } from "./ports.ts";
export { checkPrefix, DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX, maskTable, prefixMask } from "./prefix.ts";
export { maskBatchReference } from "./reference.ts";
export { SEAL_VERSION, Sealer } from "./seal.ts";
export { type FlowFields, revealFlowFields, sealFlowFields } from "./sealed-fields.ts";
export { type AddressFamily, addressBits, SLOT_BYTES, selectorOf } from "./slot.ts";
export { TOKEN_BYTES, Tokenizer } from "./tokens.ts";
