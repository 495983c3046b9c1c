/**
 * What the verifier's thread and the hash worker share: per slot, one state word (generation x 4 + phase)
 * in `state`, the job's line spans, its leaf hashes and the levels of the subtrees over them (subtrees.ts),
 * and in `jobs` the doorbell and each queued job's parameters.
 *
 * A job is handed over in shared memory, not by a message: its parameters go into `jobs`, its state word to
 * QUEUED, and the doorbell word is incremented; the worker, in short Atomics.waits on that word, sees it and
 * takes the oldest queued job. (A postMessage per job cost this thread 0.6 s per GB, measured, most of it
 * while the worker was busy hashing.) Messages are left for what is rare: the slot buffers, posted
 * when one is made or grows, and a wake-up for a worker that went back to its event loop after a while with
 * nothing to do (ASLEEP), so that it can receive them and be terminated.
 */
export const IDLE = 0;
export const QUEUED = 1;
export const WORKER = 2;
export const DONE = 3;

/** Lines per job at most (the rest of a chunk's lines are hashed by the verifier's thread as before). */
export const JOB_LINES = 8192;
/** Chunks in flight: the one being checked and two read ahead (one ahead left this thread waiting ~0.2 s per GB on a worker delayed by the JIT's threads). */
export const SLOTS = 3;

/** `jobs` words: the doorbell (incremented per job), and 1 while the worker is back in its event loop. */
export const RING = 0;
export const ASLEEP = 1;
/** Then per slot, at JOB_BASE + JOB_WORDS * slot + …: */
export const JOB_BASE = 2;
export const JOB_WORDS = 4;
export const COUNT = 0;
/** The tree size predicted at the job's first leaf, modulo BASE_MOD: which subtrees are the tree's. */
export const BASE = 1;
/** Which of the slot's buffers holds the chunk (BufferMessage.id). */
export const BUFFER = 2;
/** The job's place in submission order (wraps at 2^32): the worker takes the oldest first. */
export const TICKET = 3;
export const JOBS_WORDS = JOB_BASE + JOB_WORDS * SLOTS;

export const jobWord = (slot: number, field: number): number => JOB_BASE + JOB_WORDS * slot + field;

export interface HashPoolInit {
  state: SharedArrayBuffer;
  jobs: SharedArrayBuffer;
  spans: SharedArrayBuffer[];
  hashes: SharedArrayBuffer[];
  /** Every level above the leaves, laid out by levelLayout(count, base). */
  levels: SharedArrayBuffer[];
}

/** A slot's new chunk buffer (posted before the first job that uses it). */
export interface BufferMessage {
  slot: number;
  id: number;
  buf: SharedArrayBuffer;
}

export type WorkerMessage = { init: HashPoolInit } | { buffer: BufferMessage } | { wake: true };
