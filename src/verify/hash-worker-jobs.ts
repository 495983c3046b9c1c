/**
 * What the verifier's thread and the hash worker share: per slot, one state word (generation x 4 + phase)
 * in `state`, the job's line spans, its leaf hashes and the levels of the subtrees over them (subtrees.ts). A slot's buffer is posted with each job.
 */
export const IDLE = 0;
export const QUEUED = 1;
export const WORKER = 2;
export const DONE = 3;

/** Lines per job at most (the rest of a chunk's lines are hashed by the verifier's thread as before). */
export const JOB_LINES = 8192;
/** Chunks in flight: the one being checked and two read ahead (one ahead left this thread waiting ~0.2 s per GB on a worker delayed by the JIT's threads). */
export const SLOTS = 3;

export interface HashPoolInit {
  state: SharedArrayBuffer;
  spans: SharedArrayBuffer[];
  hashes: SharedArrayBuffer[];
  /** Every level above the leaves, laid out by levelLayout(count, base). */
  levels: SharedArrayBuffer[];
}

export interface HashJob {
  slot: number;
  gen: number;
  buf: SharedArrayBuffer;
  count: number;
  /** The tree size predicted at the job's first leaf, modulo BASE_MOD: which subtrees are the tree's. */
  base: number;
}
