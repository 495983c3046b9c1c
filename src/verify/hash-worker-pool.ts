/**
 * The verifier's side of the hash worker (hash-worker.ts): SLOTS slots, each a reader chunk in shared
 * memory with its line spans and leaf hashes. The reader (read.ts) fills and submits the next chunks
 * before it checks the current one, so the worker hashes chunks N+1 and N+2 while this thread parses
 * chunk N, folds the tree and checks signatures. Whoever moves a job's state word from QUEUED first
 * hashes it: when the worker is late, or never started (no Worker, a bad entry point, one CPU busy
 * elsewhere), this thread hashes the chunk itself with the same routine, so results never depend on
 * the worker, only the wall time does. Jobs go to the worker through the doorbell in shared memory
 * (hash-worker-jobs.ts), not by a message each.
 *
 * Used only where it pays: the native hasher, at least 2 CPUs, and a file of THREAD_MIN_BYTES or more
 * (a worker costs ~10-50 ms to start; on a 10 MB file that is more than it saves). One pool per process,
 * created at its first use and then used for files of REUSE_MIN_BYTES or more.
 */
import { availableParallelism } from "node:os";
import { nativeSha256, type Sha256Library } from "../../ffi/sha256.ts";
import { ASLEEP, BASE, BUFFER, COUNT, DONE, IDLE, JOB_LINES, JOBS_WORDS, QUEUED, RING, SLOTS, TICKET, WORKER, jobWord, type HashPoolInit, type WorkerMessage } from "./hash-worker-jobs.ts";
import type { LeafSource } from "./stream-tree.ts";
import { BASE_MOD, foldLevels, levelLayout } from "./subtrees.ts";

/** A file this large starts the worker (measured here: ~40 MB is where a worker's start-up is paid back). */
const THREAD_MIN_BYTES = 48 << 20;
/** Once the worker runs, a file this large uses it too (the next segments of a log of small segments). */
const REUSE_MIN_BYTES = 8 << 20;
/** How long this thread waits on a job the worker took before it gives up on the worker (it never should). */
const STALL_MS = 10_000;

interface Options {
  minBytes: number;
  /** False (tests only): this thread never takes a job back, so the worker hashes every one. */
  takeBack: boolean;
  cpus: () => number;
  url: () => string;
  stallMs: number;
}

const defaults: Options = { minBytes: THREAD_MIN_BYTES, takeBack: true, cpus: availableParallelism, url: workerUrl, stallMs: STALL_MS };
let options = defaults;
let pool: HashPool | undefined;
let broken = false;

/** The pool for reading `bytes` of one file, or undefined where one thread is better; release() it after. */
export function hashPool(bytes: number): HashPool | undefined {
  const min = pool ? Math.min(options.minBytes, REUSE_MIN_BYTES) : options.minBytes;
  if (broken || bytes < min || options.cpus() < 2) return undefined;
  const lib = nativeSha256();
  if (lib === undefined) return undefined;
  pool ??= new HashPool(lib, startWorker());
  if (pool.busy) return undefined; // a nested read (never today) takes the single-thread path
  pool.busy = true;
  return pool;
}

/** Test-only: thresholds, CPU count and entry point (undefined restores the defaults); drops the current pool. */
export function hashWorkerForTests(o: Partial<Options> | undefined): void {
  pool?.worker?.terminate();
  pool = undefined;
  broken = false;
  options = o ? { ...defaults, ...o } : defaults;
}

/** Test-only: how many jobs the worker and this thread hashed since the pool was made, and how often the worker was woken by a message. */
export function hashWorkerStats(): { worker: number; main: number; wakes: number } {
  return { worker: pool?.byWorker ?? 0, main: pool?.byMain ?? 0, wakes: pool?.wakes ?? 0 };
}

function startWorker(): Worker | undefined {
  try {
    const w = new Worker(options.url());
    w.onerror = () => {}; // a worker that fails to load takes no job: this thread hashes them all
    (w as unknown as { unref(): void }).unref(); // never keeps `ato verify` alive
    return w;
  } catch {
    return undefined; // no Worker here at all: the same, from the start
  }
}

/** The worker's module: beside this file from source; under the bundle's root (src/) in the compiled binary. */
function workerUrl(): string {
  const compiled = import.meta.path.includes("$bunfs");
  return new URL(compiled ? "./verify/hash-worker.ts" : "./hash-worker.ts", import.meta.url).href;
}

export class HashPool {
  busy = false;
  byWorker = 0;
  byMain = 0;
  wakes = 0;
  worker: Worker | undefined;
  /** Its worker stalled (die()). */
  private dead = false;
  private readonly lib: Sha256Library;
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  /** The doorbell and the queued jobs' parameters (hash-worker-jobs.ts). */
  private readonly jobs = new Int32Array(new SharedArrayBuffer(4 * JOBS_WORDS));
  private tickets = 0;
  readonly spans: Uint32Array[] = [];
  readonly hashes: Uint8Array[] = [];
  readonly levels: Uint8Array[] = [];
  private readonly bufs: Uint8Array[] = [];
  private readonly gens: number[] = [];
  /** Per slot: which buffer the worker was last sent (BufferMessage.id). */
  private readonly bufferIds: number[] = [];
  /** Per slot: the job's predicted tree size at its first leaf, modulo BASE_MOD. */
  readonly bases: number[] = [];

  constructor(lib: Sha256Library, worker: Worker | undefined) {
    this.lib = lib;
    this.worker = worker;
    const init: HashPoolInit = { state: this.state.buffer as SharedArrayBuffer, jobs: this.jobs.buffer as SharedArrayBuffer, spans: [], hashes: [], levels: [] };
    for (let i = 0; i < SLOTS; i++) {
      const sp = new SharedArrayBuffer(8 * JOB_LINES);
      const h = new SharedArrayBuffer(32 * JOB_LINES);
      init.spans.push(sp);
      init.hashes.push(h);
      const lv = new SharedArrayBuffer(32 * JOB_LINES); // the levels above n leaves hold fewer than n nodes
      init.levels.push(lv);
      this.levels.push(new Uint8Array(lv));
      this.spans.push(new Uint32Array(sp));
      this.hashes.push(new Uint8Array(h));
      this.bufs.push(new Uint8Array(0));
      this.gens.push(0);
      this.bufferIds.push(0);
      this.bases.push(0);
    }
    this.post({ init });
  }

  private post(m: WorkerMessage): void {
    this.worker?.postMessage(m);
  }

  /** Slot `slot`'s chunk buffer, longer than `need` bytes (its contents are not kept when it grows). */
  buffer(slot: number, need: number, size: number): Uint8Array {
    let b = this.bufs[slot]!;
    if (b.length > need) return b;
    let n = Math.max(b.length, size);
    while (n <= need) n *= 2;
    b = new Uint8Array(new SharedArrayBuffer(n));
    this.bufs[slot] = b;
    const id = (this.bufferIds[slot]! + 1) | 0;
    this.bufferIds[slot] = id;
    this.post({ buffer: { slot, id, buf: b.buffer as SharedArrayBuffer } }); // before any job on it: the worker reads it before it takes one
    return b;
  }

  /** Hands the first `count` spans of the slot to the worker, predicted to start at tree size `base`. */
  submit(slot: number, count: number, base = 0): void {
    const gen = (this.gens[slot]! + 1) % (1 << 28);
    this.gens[slot] = gen;
    base = ((base % BASE_MOD) + BASE_MOD) % BASE_MOD;
    this.bases[slot] = base;
    // The parameters before the state word: a worker that sees QUEUED for this generation sees them.
    Atomics.store(this.jobs, jobWord(slot, COUNT), count);
    Atomics.store(this.jobs, jobWord(slot, BASE), base);
    Atomics.store(this.jobs, jobWord(slot, BUFFER), this.bufferIds[slot]!);
    Atomics.store(this.jobs, jobWord(slot, TICKET), (this.tickets = (this.tickets + 1) | 0));
    Atomics.store(this.state, slot, gen * 4 + QUEUED);
    Atomics.add(this.jobs, RING, 1); // not notified: a wake-up costs this thread ~50 µs (an IPI here), the worker's short waits see it
    if (Atomics.exchange(this.jobs, ASLEEP, 0) === 1) {
      this.wakes++;
      this.post({ wake: true }); // it left the doorbell for its event loop
    }
  }

  /** The slot's leaf hashes are ready once this returns: taken back and hashed here, or waited for. */
  wait(slot: number, count: number): void {
    const g = this.gens[slot]! * 4;
    if (options.takeBack && Atomics.compareExchange(this.state, slot, g + QUEUED, g + WORKER) === g + QUEUED) {
      this.hash(slot, count);
      Atomics.store(this.state, slot, g + DONE);
      this.byMain++;
      return;
    }
    if (this.awaitWorker(slot, g)) {
      this.byWorker++;
      return;
    }
    // The worker stopped mid-job (it never should): the same hashes, made here; it gets no more jobs.
    this.hash(slot, count);
    this.byMain++;
  }

  /** The job on this thread: what hash-worker.ts does. */
  private hash(slot: number, count: number): void {
    this.lib.leaves(this.bufs[slot]!, this.spans[slot]!, count, this.hashes[slot]!, 0);
    foldLevels(this.lib, this.hashes[slot]!, this.levels[slot]!, levelLayout(count, this.bases[slot]!));
  }

  /** Before the slot is reused or the read ends: a queued job is withdrawn, a running one waited for. */
  cancel(slot: number): void {
    const g = this.gens[slot]! * 4;
    if (Atomics.compareExchange(this.state, slot, g + QUEUED, g + IDLE) === g + QUEUED) return;
    this.awaitWorker(slot, g);
  }

  release(): void {
    for (let i = 0; i < SLOTS; i++) this.cancel(i);
    this.busy = false;
  }

  /** True once the worker finished the job; false if it stalled, or stalled before (this pool is then dead). */
  private awaitWorker(slot: number, g: number): boolean {
    if (this.dead) return false;
    const t0 = Date.now();
    for (let v = Atomics.load(this.state, slot); v === g + WORKER || v === g + QUEUED; v = Atomics.load(this.state, slot)) {
      Atomics.wait(this.state, slot, v, Math.min(1000, options.stallMs));
      if (Date.now() - t0 > options.stallMs) {
        this.die();
        return false;
      }
    }
    return true;
  }

  /**
   * A stalled worker may still write its slots' hashes at any time: from here on this thread hashes every job of
   * the read in progress into memory of its own, waits on the worker no more, and no later read gets this pool.
   */
  private die(): void {
    this.dead = true;
    this.worker?.terminate();
    this.worker = undefined;
    for (let i = 0; i < SLOTS; i++) {
      this.hashes[i] = new Uint8Array(32 * JOB_LINES);
      this.levels[i] = new Uint8Array(32 * JOB_LINES);
    }
    broken = true;
    pool = undefined;
  }
}

/** The leaves of one submitted chunk, for StreamTree.flush (stream-tree.ts). */
export function leafSource(p: HashPool, slot: number, buf: Uint8Array, count: number): LeafSource {
  let ready = false;
  return {
    buf,
    spans: p.spans[slot]!,
    // Read after ready(): a pool whose worker stalled hashes into other memory (HashPool.die).
    get hashes() { return p.hashes[slot]!; },
    get levels() { return p.levels[slot]!; },
    count,
    base: p.bases[slot]!,
    cursor: 0,
    ready() {
      if (!ready) p.wait(slot, count);
      ready = true;
    },
  };
}
