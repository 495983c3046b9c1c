/** `ato collect` as a library: the fleet side of forwarding. */
export { Collector, type CollectOptions } from "./collector.ts";
export { dirNameOf, OriginDir } from "./origin.ts";
export type { OriginStatus } from "./check.ts";
