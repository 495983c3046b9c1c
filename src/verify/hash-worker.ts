/**
 * The hash worker: a Bun Worker that hashes the leaves of the reader's next chunk, and every level of the complete subtrees over them that are predicted to be the tree's (subtrees.ts), while the verifier's
 * thread checks the current one (hash-worker-pool.ts queues the jobs). It takes a job only by moving the
 * job's state word from QUEUED to WORKER for the job's generation, so a job the verifier's thread took
 * itself, or cancelled, is never hashed twice or into a reused slot. Jobs arrive through the doorbell in
 * shared memory (hash-worker-jobs.ts): the worker polls it in short Atomics.waits, not in its event loop,
 * and goes back to the event loop only for a slot's new buffer (a message) or after IDLE_MS with no job.
 * Results go straight into shared memory; the verifier's thread waits on the state word, never on a message.
 */
import { nativeSha256 } from "../../ffi/sha256.ts";
import { ASLEEP, BASE, BUFFER, COUNT, DONE, QUEUED, RING, SLOTS, TICKET, WORKER, jobWord, type WorkerMessage } from "./hash-worker-jobs.ts";
import { foldLevels, levelLayout } from "./subtrees.ts";

declare const self: Worker;

/**
 * One wait on the doorbell. The verifier's thread does not notify it: waking a waiting thread cost the waker
 * ~30-70 µs here (measured; the other vCPU's wake-up), ~50 ms per GB on the verifier's thread. The worker
 * wakes itself instead, at most this late, and the read-ahead's two queued chunks (~4 ms of work) hide it.
 */
const POLL_MS = 0.5;
/** With no job for this long the worker returns to its event loop (a job then comes with a wake-up message). */
const IDLE_MS = 200;

const lib = nativeSha256();
let state: Int32Array | undefined;
let jobs: Int32Array | undefined;
let spans: Uint32Array[] = [];
let hashes: Uint8Array[] = [];
let levels: Uint8Array[] = [];
const buffers: ({ id: number; view: Uint8Array } | undefined)[] = [];

self.onmessage = (e: MessageEvent) => {
  const m = e.data as WorkerMessage;
  if ("init" in m) {
    state = new Int32Array(m.init.state);
    jobs = new Int32Array(m.init.jobs);
    spans = m.init.spans.map((b) => new Uint32Array(b));
    hashes = m.init.hashes.map((b) => new Uint8Array(b));
    levels = m.init.levels.map((b) => new Uint8Array(b));
  } else if ("buffer" in m) {
    buffers[m.buffer.slot] = { id: m.buffer.id, view: new Uint8Array(m.buffer.buf) };
  }
  if (state && jobs && lib) run(state, jobs); // without them it takes no job: the verifier's thread hashes every one
};

function run(state: Int32Array, jobs: Int32Array): void {
  Atomics.store(jobs, ASLEEP, 0);
  for (;;) {
    waitAndHash(state, jobs);
    // Back to the event loop: from here a job comes with a wake-up message (submit sees ASLEEP). One queued
    // just before is taken now, unless that message was sent already; one whose buffer is not here yet waits
    // for the buffer's message, which runs this again.
    Atomics.store(jobs, ASLEEP, 1);
    const slot = oldestQueued(state, jobs);
    if (slot < 0 || !haveBuffer(jobs, slot) || Atomics.exchange(jobs, ASLEEP, 0) === 0) return;
  }
}

/** Takes queued jobs, oldest first, until one needs a buffer not received yet or none came for IDLE_MS. */
function waitAndHash(state: Int32Array, jobs: Int32Array): void {
  let idleSince = -1;
  for (;;) {
    const ring = Atomics.load(jobs, RING);
    const slot = oldestQueued(state, jobs);
    if (slot >= 0) {
      if (!take(state, jobs, slot)) return;
      idleSince = -1;
      continue;
    }
    const now = performance.now();
    if (idleSince < 0) idleSince = now;
    else if (now - idleSince > IDLE_MS) return;
    Atomics.wait(jobs, RING, ring, POLL_MS);
  }
}

/** The queued slot submitted first, or -1. */
function oldestQueued(state: Int32Array, jobs: Int32Array): number {
  let best = -1;
  let ticket = 0;
  for (let i = 0; i < SLOTS; i++) {
    if ((Atomics.load(state, i) & 3) !== QUEUED) continue;
    const t = Atomics.load(jobs, jobWord(i, TICKET));
    if (best < 0 || ((t - ticket) | 0) < 0) [best, ticket] = [i, t];
  }
  return best;
}

function haveBuffer(jobs: Int32Array, slot: number): boolean {
  return buffers[slot]?.id === Atomics.load(jobs, jobWord(slot, BUFFER));
}

/** Hashes the slot's job if it is still queued; false when its buffer has not arrived (nothing taken). */
function take(state: Int32Array, jobs: Int32Array, slot: number): boolean {
  const v = Atomics.load(state, slot);
  if ((v & 3) !== QUEUED) return true;
  if (!haveBuffer(jobs, slot)) return false;
  // Parameters read before the claim may be a newer job's; then the claim fails, as that job has another state word.
  if (Atomics.compareExchange(state, slot, v, v - QUEUED + WORKER) !== v) return true; // taken back or withdrawn meanwhile
  // Claimed: the parameters are this job's (the verifier's thread writes a slot's only once its job is withdrawn or done).
  const count = Atomics.load(jobs, jobWord(slot, COUNT));
  lib!.leaves(buffers[slot]!.view, spans[slot]!, count, hashes[slot]!, 0);
  foldLevels(lib!, hashes[slot]!, levels[slot]!, levelLayout(count, Atomics.load(jobs, jobWord(slot, BASE))));
  Atomics.store(state, slot, v - QUEUED + DONE);
  Atomics.notify(state, slot);
  return true;
}
