export { Collector, type CollectorOptions, type CycleSummary } from "./collector.ts";
export { KernelClock } from "./clock.ts";
