/**
 * The hash worker: a Bun Worker that hashes the leaves of the reader's next chunk, and every level of the complete subtrees over them that are predicted to be the tree's (subtrees.ts), while the verifier's
 * thread checks the current one (hash-worker-pool.ts posts the jobs). It takes a job only by moving the
 * job's state words (one per half, subtrees.ts jobParts) from QUEUED to WORKER for the job's generation, so a half the verifier's thread took
 * itself, or cancelled, is never hashed twice or into a reused slot. Results go straight into shared
 * memory; the verifier's thread waits on the state word (Atomics), never on a message.
 */
import { nativeSha256 } from "../../ffi/sha256.ts";
import { DONE, QUEUED, WORKER, type HashJob, type HashPoolInit } from "./hash-worker-jobs.ts";
import { hashPart, jobParts } from "./subtrees.ts";

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
  const parts = jobParts(job.count, job.base);
  for (let i = 0; i < 2; i++) {
    // The first half, then the second unless the verifier's thread took it meanwhile.
    const w = 2 * job.slot + i;
    if (Atomics.compareExchange(state, w, gen + QUEUED, gen + WORKER) !== gen + QUEUED) continue;
    hashPart(lib, new Uint8Array(job.buf), new Uint32Array(init.spans[job.slot]!), new Uint8Array(init.hashes[job.slot]!), new Uint8Array(init.levels[job.slot]!), parts[i]!);
    Atomics.store(state, w, gen + DONE);
    Atomics.notify(state, w);
  }
};
