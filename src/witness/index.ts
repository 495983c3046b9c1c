/** Witnesses (c2sp.org/tlog-witness): the server side, and the cosignature format both sides share. */
export { COSIGNATURE_HEADER, cosign, cosignatureLine, cosignedMessage, matchesKey, verifyCosignature, type CosignatureCheck } from "./cosignature.ts";
export { TYPE_COSIGNATURE_V1, TYPE_ED25519, formatVerifierKey, noteKeyId, parseVerifierKey, type VerifierKey } from "./vkey.ts";
export { ed25519Spki, verifyEd25519 } from "./ed25519.ts";
export { formatAddCheckpoint, parseAddCheckpoint, type AddCheckpointRequest } from "./request.ts";
export { initWitness, openWitnessKey } from "./identity.ts";
export { loadKeyFile, type WitnessKey } from "./key.ts";
export { parseLogSpec, type TrustedLogs } from "./logs.ts";
export { WitnessState } from "./state.ts";
export { Witness, type Answer } from "./witness.ts";
export { witnessMetrics } from "./metrics.ts";
export { MAX_BODY, serveWitness, type WitnessServer } from "./server.ts";
export { DEFAULT_WITNESS_LISTEN, serveSettings } from "./config.ts";
export { RefusedRequests } from "./refused.ts";
