/**
 * A hash worker that goes wrong the way the pool must survive: it claims the first job it is given and never
 * finishes it, and from then on keeps writing garbage into every slot's hashes and levels until it is terminated.
 * It polls the state words on a timer instead of waiting on the doorbell (and never says it sleeps).
 */
import { QUEUED, SLOTS, WORKER, type WorkerMessage } from "../../src/verify/hash-worker-jobs.ts";

declare const self: Worker;
let timer: ReturnType<typeof setInterval> | undefined;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as WorkerMessage;
  if (!("init" in m) || timer) return;
  const state = new Int32Array(m.init.state);
  const slots = [...m.init.hashes, ...m.init.levels].map((b) => new Uint8Array(b));
  let claimed = false;
  timer = setInterval(() => {
    if (claimed) return void slots.forEach((s) => s.fill(0xa5));
    for (let i = 0; i < SLOTS && !claimed; i++) {
      const v = Atomics.load(state, i);
      claimed = (v & 3) === QUEUED && Atomics.compareExchange(state, i, v, v - QUEUED + WORKER) === v;
    }
  }, 1);
};
