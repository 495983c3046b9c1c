/**
 * A hash worker that goes wrong the way the pool must survive: it claims the first job it is given and never
 * finishes it, and from then on keeps writing garbage into every slot's hashes and levels until it is terminated.
 */
import { QUEUED, WORKER, type HashJob, type HashPoolInit } from "../../src/verify/hash-worker-jobs.ts";

declare const self: Worker;
let init: HashPoolInit | undefined;
let scribbling = false;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { init?: HashPoolInit; job?: HashJob };
  if (m.init) init = m.init;
  const job = m.job;
  if (!job || !init || scribbling) return;
  const state = new Int32Array(init.state);
  if (Atomics.compareExchange(state, job.slot, job.gen * 4 + QUEUED, job.gen * 4 + WORKER) !== job.gen * 4 + QUEUED) return;
  scribbling = true;
  const slots = [...init.hashes, ...init.levels].map((b) => new Uint8Array(b));
  setInterval(() => { for (const s of slots) s.fill(0xa5); }, 1);
};
