/**
 * The hash worker: a Bun Worker that hashes the leaves of the reader's next chunk, and every level of the complete subtrees over them that are predicted to be the tree's (subtrees.ts), while the verifier's
 * thread checks the current one (hash-worker-pool.ts posts the jobs). It takes a job only by moving the
 * job's state word from QUEUED to WORKER for the job's generation, so a job the verifier's thread took
 * itself, or cancelled, is never hashed twice or into a reused slot. Results go straight into shared
 * memory; the verifier's thread waits on the state word (Atomics), never on a message.
 */
import { nativeSha256 } from "../../ffi/sha256.ts";
import { DONE, QUEUED, WORKER, type HashJob, type HashPoolInit } from "./hash-worker-jobs.ts";
import { foldLevels, levelLayout } from "./subtrees.ts";

declare const self: Worker;

const lib = nativeSha256();
let init: HashPoolInit | undefined;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { init?: HashPoolInit; job?: HashJob };
  if (m.init) {
    init = m.init;
    return;
  }
  const job = m.job;
  if (!job || !init || !lib) return; // not taken: the verifier's thread hashes it itself
  const state = new Int32Array(init.state);
  const gen = job.gen * 4;
  if (Atomics.compareExchange(state, job.slot, gen + QUEUED, gen + WORKER) !== gen + QUEUED) return;
  const hashes = new Uint8Array(init.hashes[job.slot]!);
  lib.leaves(new Uint8Array(job.buf), new Uint32Array(init.spans[job.slot]!), job.count, hashes, 0);
  foldLevels(lib, hashes, new Uint8Array(init.levels[job.slot]!), levelLayout(job.count, job.base));
  Atomics.store(state, job.slot, gen + DONE);
  Atomics.notify(state, job.slot);
};
