/**
 * The start's garbage, collected once, synchronously, when the agent's start is over. The start
 * allocates ~8–12 MB (modules, the HSM and log set-up, the first read, the Worker), and that growth
 * makes JavaScriptCore begin a full collection at the first ticks. Its marking is concurrent, and it
 * advances only when the mutator runs: the agent runs about once a second, so that one collection
 * stays open for the whole run (measured under BUN_JSC_logGC at 25 k pps: 46 s, 35 pauses, until the
 * stop finished it), with its pauses and its write barriers' slow path paid at every tick. One
 * synchronous full collection at the end of the start costs ~12 ms once, leaves ~9 MB live and no
 * collection open; over 36-40 s at 25 k pps the main heap then ran no collection at all (bench-peers:
 * 0.13-0.14 s/Mpkt before the shutdown against 0.16-0.18 without it).
 */
export function collectStartGarbage(): void {
  Bun.gc(true);
}
