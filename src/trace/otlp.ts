/**
 * ExportTraceServiceRequest (opentelemetry-proto, opentelemetry/proto/collector/trace/v1 and trace/v1), encoded
 * by hand: one ResourceSpans with the service's resource, one ScopeSpans for ato, the spans. Field numbers are
 * the published schema's; test/trace decodes what this writes with the generated decoders of that schema.
 */
import { ProtoWriter, utf8 } from "./protobuf.ts";

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

function keyValue(w: ProtoWriter, field: number, key: string, v: AttrValue): void {
  const kv = w.fork(field);
  w.string(1, key);
  // AnyValue is a oneof: a zero, false or empty value is still written, so the receiver knows which field it is.
  const any = w.fork(2);
  if (typeof v === "string") w.bytes(1, utf8(v));
  else if (typeof v === "boolean") w.varintField(2, v ? 1 : 0);
  else if (Number.isInteger(v)) w.varintField(3, v >= 0 && v < 0x80000000 ? v : BigInt(v));
  else w.double(4, v);
  w.join(any).join(kv);
}

function span(w: ProtoWriter, s: SpanData): void {
  const at = w.fork(2);
  w.bytes(1, s.traceId).bytes(2, s.spanId);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name).uint(6, SPAN_KIND_INTERNAL).fixed64(7, s.startNs).fixed64(8, s.endNs);
  for (const k in s.attributes) keyValue(w, 9, k, s.attributes[k]!);
  if (s.status) {
    const st = w.fork(15);
    w.string(2, s.status.message ?? "").uint(3, s.status.code);
    w.join(st);
  }
  w.join(at);
}

/** ExportTraceServiceRequest { resource_spans: [ { resource, scope_spans: [ { scope, spans } ] } ] }. */
export function encodeTraceRequest(resource: Record<string, AttrValue>, scope: { name: string; version: string }, spans: readonly SpanData[]): Uint8Array {
  const w = new ProtoWriter();
  const rs = w.fork(1);
  const res = w.fork(1);
  for (const k in resource) keyValue(w, 1, k, resource[k]!);
  w.join(res);
  const ss = w.fork(2);
  const sc = w.fork(1);
  w.string(1, scope.name).string(2, scope.version).join(sc);
  for (const s of spans) span(w, s);
  return w.join(ss).join(rs).finish();
}
