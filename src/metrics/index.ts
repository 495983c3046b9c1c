/** Metrics and the agent's HTTP endpoints (Hono + prom-client). Never loads native code. */
export { createMetrics, type AtoMetrics, type BuildInfo, type KernelCounters, type MetricsOptions } from "./metrics.ts";
export { createApp, type AppOptions, type Health } from "./app.ts";
export { createServer, type MetricsServer, type ServerOptions } from "./server.ts";
export { parseListen, readListen, bindError, DEFAULT_LISTEN, LISTEN_FORMAT, type ListenAddress } from "./listen.ts";
export { setTotal } from "./total.ts";
export { protoLabel, PROTOS, DIRECTIONS, EVENT_KINDS, type ProtoLabel, type Direction, type EventKind } from "./labels.ts";
export { createPublishedServer, type PublishedOptions, type PublishedServer } from "./published.ts";
