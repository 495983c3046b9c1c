/**
 * ExportTraceServiceRequest (opentelemetry-proto, opentelemetry/proto/collector/trace/v1 and trace/v1), encoded
 * by hand: one ResourceSpans with the service's resource, one ScopeSpans for ato, the spans. Field numbers are
 * the published schema's; test/trace decodes what this writes with the generated decoders of that schema.
 */
import { ProtoWriter } from "./protobuf.ts";

export type AttrValue = string | number | boolean;

export interface SpanData {
  traceId: Uint8Array; // 16 bytes
  spanId: Uint8Array; // 8 bytes
  parentSpanId?: Uint8Array;
  name: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  /** Status code: 1 ok, 2 error (0 unset). */
  status?: { code: 1 | 2; message?: string };
}

/** Span.SpanKind: ato's spans are its own work, not requests served or made. */
const SPAN_KIND_INTERNAL = 1;

function keyValue(key: string, v: AttrValue): ProtoWriter {
  // AnyValue is a oneof: a zero, false or empty value is still written, so the receiver knows which field it is.
  const any = new ProtoWriter();
  if (typeof v === "string") any.bytes(1, new TextEncoder().encode(v));
  else if (typeof v === "boolean") any.varintField(2, v ? 1 : 0);
  else if (Number.isInteger(v)) any.varintField(3, BigInt(v));
  else any.double(4, v);
  return new ProtoWriter().string(1, key).message(2, any);
}

function span(s: SpanData): ProtoWriter {
  const w = new ProtoWriter().bytes(1, s.traceId).bytes(2, s.spanId);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name).uint(6, SPAN_KIND_INTERNAL).fixed64(7, s.startNs).fixed64(8, s.endNs);
  for (const [k, v] of Object.entries(s.attributes)) w.message(9, keyValue(k, v));
  if (s.status) w.message(15, new ProtoWriter().string(2, s.status.message ?? "").uint(3, s.status.code));
  return w;
}

export function encodeTraceRequest(resource: Record<string, AttrValue>, scope: { name: string; version: string }, spans: readonly SpanData[]): Uint8Array {
  const res = new ProtoWriter();
  for (const [k, v] of Object.entries(resource)) res.message(1, keyValue(k, v));
  const ss = new ProtoWriter().message(1, new ProtoWriter().string(1, scope.name).string(2, scope.version));
  for (const s of spans) ss.message(2, span(s));
  const rs = new ProtoWriter().message(1, res).message(2, ss);
  return new ProtoWriter().message(1, rs).finish();
}
