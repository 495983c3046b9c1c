/**
 * The hash worker: a Bun Worker that hashes the leaves of the reader's next chunk, and the nodes over each pair of them (lines 0-1, 2-3, ... or 1-2, 3-4, ... as the job says), while the verifier's
 * thread checks the current one (hash-worker-pool.ts posts the jobs). It takes a job only by moving the
 * job's state word from QUEUED to WORKER for the job's generation, so a job the verifier's thread took
 * itself, or cancelled, is never hashed twice or into a reused slot. Results go straight into shared
 * memory; the verifier's thread waits on the state word (Atomics), never on a message. It also checks the
 * signatures of the checkpoint lines among them (hash-worker-sigs.ts).
 */
import { nativeSha256 } from "../../ffi/sha256.ts";
import { DONE, QUEUED, SLOTS, WORKER, type HashJob, type HashPoolInit } from "./hash-worker-jobs.ts";
import { presign, type PresignKey } from "./hash-worker-sigs.ts";

declare const self: Worker;

const lib = nativeSha256();
let init: HashPoolInit | undefined;
let keys: PresignKey[] = [];

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { init?: HashPoolInit; job?: HashJob };
  if (m.init) {
    init = m.init;
    return;
  }
  const job = m.job;
  if (job?.keys) keys = job.keys;
  if (!job || !init || !lib) return; // not taken: the verifier's thread hashes it itself
  const state = new Int32Array(init.state);
  const gen = job.gen * 4;
  if (Atomics.compareExchange(state, job.slot, gen + QUEUED, gen + WORKER) !== gen + QUEUED) return;
  try {
    const hashes = new Uint8Array(init.hashes[job.slot]!);
    const buf = new Uint8Array(job.buf);
    const spans = new Uint32Array(init.spans[job.slot]!);
    lib.leaves(buf, spans, job.count, hashes, 0);
    lib.nodes(hashes, 32 * job.align, Math.floor((job.count - job.align) / 2), new Uint8Array(init.pairs[job.slot]!), 0);
  } finally {
    Atomics.store(state, job.slot, gen + DONE); // whatever happened: the verifier's thread never waits for nothing
    Atomics.notify(state, job.slot);
  }
  // Then the signatures, while the verifier's thread is not past this chunk.
  const sig = new Int32Array(init.sigState);
  if (keys.length === 0 || Atomics.compareExchange(sig, job.slot, gen + QUEUED, gen + WORKER) !== gen + QUEUED) return;
  try {
    const stop = () => Atomics.load(sig, SLOTS + job.slot) === job.gen;
    presign(new Uint8Array(job.buf), new Uint32Array(init.spans[job.slot]!), job.count, keys, new Int32Array(init.sigs[job.slot]!), stop);
  } finally {
    Atomics.store(sig, job.slot, gen + DONE);
    Atomics.notify(sig, job.slot);
  }
};
