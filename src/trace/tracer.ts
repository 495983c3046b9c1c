/**
 * Spans of the agent's work (a collection cycle, a checkpoint, a witness submission, a forward batch), exported
 * over OTLP/HTTP with protobuf bodies (POST {endpoint}/v1/traces, application/x-protobuf) when an endpoint is
 * configured. Off by default, and then free: `NOOP_TRACER.start()` returns one shared span whose methods do
 * nothing, so a traced call site costs a call and no allocation. Export never blocks or fails the agent's work:
 * finished spans are batched, sent in the background, and a batch that cannot be sent is counted and dropped.
 */
import { randomBytes } from "node:crypto";
import { encodeTraceRequest, type AttrValue, type SpanData } from "./otlp.ts";

export interface Span {
  set(key: string, value: AttrValue): Span;
  /** Ends the span; an error marks its status. */
  end(error?: unknown): void;
  /** A child span of this one (the same trace). */
  child(name: string): Span;
}

export interface Tracer {
  readonly enabled: boolean;
  start(name: string, attributes?: Record<string, AttrValue>): Span;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const NOOP_SPAN: Span = { set: () => NOOP_SPAN, end: () => {}, child: () => NOOP_SPAN };
export const NOOP_TRACER: Tracer = { enabled: false, start: () => NOOP_SPAN, flush: async () => {}, close: async () => {} };

export interface OtlpOptions {
  /** Base URL of the OTLP/HTTP receiver, e.g. http://127.0.0.1:4318; /v1/traces is appended. */
  endpoint: string;
  serviceName: string;
  serviceVersion: string;
  /** Spans per request at most; a full batch is sent at once. */
  maxBatch?: number;
  /** A partial batch is sent after this long. */
  flushMs?: number;
}

/** Span and trace IDs from a pool of random bytes refilled 4 KiB at a time: one system call per ~170 spans. */
let pool = randomBytes(4096);
let poolAt = 0;
function randomId(n: 8 | 16): Uint8Array {
  if (poolAt + n > pool.length) { pool = randomBytes(4096); poolAt = 0; }
  const id = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return id;
}

/** Wall-clock nanoseconds: the epoch offset taken once, then the monotonic clock (cheap, and no step mid-span). */
const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const nowNs = () => EPOCH_OFFSET + process.hrtime.bigint();

class LiveSpan implements Span {
  private readonly data: SpanData;

  constructor(private readonly tracer: OtlpTracer, name: string, attributes: Record<string, AttrValue>, traceId: Uint8Array, parent?: Uint8Array) {
    this.data = { traceId, spanId: randomId(8), parentSpanId: parent, name, startNs: nowNs(), endNs: 0n, attributes: { ...attributes } };
  }

  set(key: string, value: AttrValue): Span {
    this.data.attributes[key] = value;
    return this;
  }

  end(error?: unknown): void {
    this.data.endNs = nowNs();
    if (error !== undefined) this.data.status = { code: 2, message: error instanceof Error ? error.message : String(error) };
    this.tracer.finished(this.data);
  }

  child(name: string): Span {
    return new LiveSpan(this.tracer, name, {}, this.data.traceId, this.data.spanId);
  }
}

export class OtlpTracer implements Tracer {
  readonly enabled = true;
  readonly stats = { spans: 0, requests: 0, failedRequests: 0, droppedSpans: 0 };
  private batch: SpanData[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight = new Set<Promise<void>>();
  private readonly url: string;

  constructor(private readonly o: OtlpOptions) {
    this.url = `${o.endpoint.replace(/\/+$/, "")}/v1/traces`;
  }

  start(name: string, attributes: Record<string, AttrValue> = {}): Span {
    return new LiveSpan(this, name, attributes, randomId(16));
  }

  /** Called by a span when it ends. */
  finished(s: SpanData): void {
    this.stats.spans++;
    this.batch.push(s);
    if (this.batch.length >= (this.o.maxBatch ?? 512)) this.send();
    else this.timer ??= setTimeout(() => this.send(), this.o.flushMs ?? 1000);
  }

  async flush(): Promise<void> {
    this.send();
    await Promise.all(this.inFlight);
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private send(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.batch.length === 0) return;
    const spans = this.batch;
    this.batch = [];
    const body = encodeTraceRequest({ "service.name": this.o.serviceName, "service.version": this.o.serviceVersion }, { name: "ato", version: this.o.serviceVersion }, spans);
    const p: Promise<void> = fetch(this.url, { method: "POST", headers: { "content-type": "application/x-protobuf" }, body: body as Uint8Array<ArrayBuffer> })
      .then(async (r) => {
        await r.arrayBuffer();
        this.stats.requests++;
        if (!r.ok) { this.stats.failedRequests++; this.stats.droppedSpans += spans.length; }
      })
      // A receiver that is down loses these spans, never the agent's work: counted, not thrown.
      .catch(() => { this.stats.failedRequests++; this.stats.droppedSpans += spans.length; })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
}

/** The tracer the settings ask for: OTLP when an endpoint is set, otherwise the one that costs nothing. */
export function createTracer(o: Partial<OtlpOptions> & { serviceVersion: string }): Tracer {
  return o.endpoint ? new OtlpTracer({ serviceName: "ato", ...o, endpoint: o.endpoint }) : NOOP_TRACER;
}
