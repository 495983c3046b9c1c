/** The RFC 9162 Merkle tree: pure functions over hashes, streamed through a frontier. */
export { EMPTY_ROOT, HASH_SIZE, LEAF_HASH_PREFIX, NODE_HASH_PREFIX, equalHashes, hashChildren, hashLeaf, sha256, type Hash } from "./hash.ts";
export { CompactFrontier, hashNodes, type NodeHasher } from "./compact.ts";
export { EMPTY_FRONTIER, appendLeaf, fitsSize, frontierRoot, frontierSpans, type Frontier } from "./frontier.ts";
export { rootFromInclusionProof, verifyInclusion } from "./inclusion.ts";
export { rootsFromConsistencyProof, verifyConsistency } from "./consistency.ts";
export { SpanHasher, inclusionSpans, type Span } from "./ranges.ts";
export { base64, hashFromBase64, hashFromHex, hex } from "./encoding.ts";
