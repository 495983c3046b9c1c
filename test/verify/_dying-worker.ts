/**
 * A hash worker that dies the way a thread can: it claims the first job queued on the doorbell, then exits
 * without finishing it or saying anything (as a crash in the hasher would leave it).
 */
import { QUEUED, SLOTS, WORKER, type WorkerMessage } from "../../src/verify/hash-worker-jobs.ts";

declare const self: Worker;
let timer: ReturnType<typeof setInterval> | undefined;

self.onmessage = (e: MessageEvent) => {
  const m = e.data as WorkerMessage;
  if (!("init" in m) || timer) return;
  const state = new Int32Array(m.init.state);
  timer = setInterval(() => {
    for (let i = 0; i < SLOTS; i++) {
      const v = Atomics.load(state, i);
      if ((v & 3) === QUEUED && Atomics.compareExchange(state, i, v, v - QUEUED + WORKER) === v) process.exit(0);
    }
  }, 1);
};
