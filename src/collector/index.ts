export { Collector, type CollectorOptions, type CycleSummary } from "./collector.ts";
export { KernelClock } from "./clock.ts";
export type { ExportedFlow, ExportHook, MapReadHook, ReadHook } from "./export.ts";
export type { ExportReason } from "./policy.ts";
export { scanPath } from "./scan.ts";
