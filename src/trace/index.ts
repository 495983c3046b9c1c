/** Tracing of the agent's work: OpenTelemetry spans over OTLP/HTTP protobuf, off (and free) unless configured. */
export { createTracer, NOOP_TRACER, OtlpTracer, type OtlpOptions, type Span, type Tracer } from "./tracer.ts";
export { encodeTraceRequest, type AttrValue, type SpanData } from "./otlp.ts";
export { traced } from "./traced.ts";
