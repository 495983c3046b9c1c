/** The append-only, signed evidence log (writer side). */
export { EvidenceLog } from "./writer.ts";
export type { EvidenceLogOptions } from "./options.ts";
export type { CheckpointResult, EvidenceLogStatus, LatestCheckpoint } from "./types.ts";
export type { EvidenceCounters, KindCounts } from "./counters.ts";
export { ACTIVE_LOG_NAME, listLogFiles, rotatedName, segmentOfName } from "./paths.ts";
export { forEachLine, leafHashInPlace } from "./lines.ts";
export { asciiBytes, JsonBytes, jsonString } from "./bytes.ts";
export type { BodyText, BodyWriter, Envelope, LineWriter } from "./encode.ts";
