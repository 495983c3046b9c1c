/**
 * Counters that mirror a cumulative value kept elsewhere (the kernel's per-CPU counters, the CPU time of this
 * process). prom-client counters only go up by increments, so the last value seen is kept per label set and the
 * counter grows by the difference. A value below the last one means the source restarted from zero (the XDP
 * program was reloaded): everything it counted since is new, so the counter grows by the whole value. A
 * mirrored counter therefore never decreases, and Prometheus's rate() stays correct across such restarts.
 */
import type { Counter, LabelValues } from "prom-client";

const last = new WeakMap<Counter<string>, Map<string, number>>();

/** Moves `counter` (for `labels`) so that it has grown by what `total` grew since the previous call. */
export function setTotal<T extends string>(counter: Counter<T>, total: number | bigint, labels?: LabelValues<T>): void {
  const value = Number(total);
  if (!Number.isFinite(value) || value < 0) return;
  let seen = last.get(counter);
  if (!seen) last.set(counter, (seen = new Map()));
  const key = labels ? JSON.stringify(Object.entries(labels).sort()) : "";
  const before = seen.get(key) ?? 0;
  const delta = value >= before ? value - before : value;
  seen.set(key, value);
  if (delta === 0) return;
  if (labels) counter.inc(labels, delta);
  else counter.inc(delta);
}
