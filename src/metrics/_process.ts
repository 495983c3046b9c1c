/**
 * The standard process_* metrics, read at scrape time. prom-client's collectDefaultMetrics() is not used: under
 * Bun its nodejs_* series describe a runtime that is not running, and some of its names fail promtool's lint.
 */
import { readdirSync } from "node:fs";
import { Counter, Gauge, type Registry } from "prom-client";
import { setTotal } from "./total.ts";

export function processMetrics(registry: Registry): void {
  const registers = [registry];
  const startSeconds = Math.round((Date.now() - performance.now()) / 1000);
  new Counter({
    name: "process_cpu_seconds_total", help: "User and system CPU time of this process, in seconds.", registers,
    collect() {
      const { user, system } = process.cpuUsage();
      setTotal(this, (user + system) / 1e6);
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes", help: "Resident memory of this process, in bytes.", registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: "process_open_fds", help: "Open file descriptors of this process.", registers,
    collect() {
      this.set(readdirSync("/proc/self/fd").length);
    },
  });
  new Gauge({ name: "process_start_time_seconds", help: "Start time of this process, in seconds since the epoch.", registers }).set(startSeconds);
}
