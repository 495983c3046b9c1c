/** Evidence records, their canonical bytes, and the signed checkpoints that cover them. */
export { canonicalize } from "./canonical.ts";
export { EVENT_KINDS, MAX_LINE_BYTES, RECORD_VERSION, encodeRecord, parseRecord, rfc3339, type EvidenceRecord, type EventKind, type RecordData, type RecordKind } from "./record.ts";
export { checkpointBody, formatSignedNote, parseCheckpointBody, parseSignedNote, type CheckpointBody, type NoteSignature } from "./note.ts";
export { SIGNATURE_ALGORITHMS, SIGNATURE_TYPE, keyId, keyIdHex, notePublicKey, type SignatureAlgorithm } from "./keyid.ts";
export { parseCheckpointData, type CheckpointData, type CheckpointTrigger, type ParsedCheckpoint, type PrevSegment } from "./checkpoint.ts";
export { parseSegmentData, segmentNumberOf, type ParsedSegment, type SegmentData } from "./segment.ts";
export { parseCosignatureData, type CosignatureData, type WitnessRefusalData } from "./witness.ts";
export { MAX_CARRIED_RUNS, parseRetireData, type ParsedRetire, type ParsedRun, type RetireData, type RetiredRun } from "./retire.ts";
