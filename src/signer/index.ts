/** The PKCS#11 checkpoint signer and the offline verification that goes with it. */
export type { CheckpointSigner, OpenSignerOptions, SignatureAlgorithm } from "./types.ts";
export { SIGNATURE_ALGORITHMS } from "./types.ts";
export { openSigner } from "./signer.ts";
export { signatureVerifier, verifySignature, type SignatureCheck } from "./verify.ts";
export { algorithmOfSpki, spkiFromPem, spkiToPem } from "./pem.ts";
