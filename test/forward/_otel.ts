/**
 * Receivers that enforce two published APIs no Debian package serves here. OTLP/HTTP logs
 * (JSON): POST /v1/logs, application/json, resourceLogs → scopeLogs → logRecords with a
 * string timeUnixNano and a body; 200 with partialSuccess for records it is told to reject.
 * Loki push: POST /loki/api/v1/push, streams of labels and [ns-string, line] values; at most
 * 15 labels with valid names (400 otherwise); entries identical in stream, time and line are
 * kept once; 204 on success.
 */
export interface Receiver {
  url: string;
  entries: { labels: Record<string, string>; attrs: Record<string, unknown>; line: string; ns: string }[];
  statuses: number[];
  rejectSeq(seq: number): void;
  stop(): void;
}

export function startOtlp(): Receiver {
  let reject: number | undefined;
  const r = receiver(async (req, entries) => {
    if (new URL(req.url).pathname !== "/v1/logs") return new Response("not found", { status: 404 });
    if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) return new Response("unsupported media type", { status: 415 });
    const body = await req.json();
    let rejected = 0;
    for (const rl of body.resourceLogs ?? []) {
      const labels = Object.fromEntries((rl.resource?.attributes ?? []).map((a: any) => [a.key, a.value.stringValue]));
      for (const sl of rl.scopeLogs ?? []) {
        for (const lr of sl.logRecords ?? []) {
          if (typeof lr.timeUnixNano !== "string" || !/^\d+$/.test(lr.timeUnixNano) || typeof lr.body?.stringValue !== "string") return Response.json({ code: 3, message: "invalid log record" }, { status: 400 });
          const attrs = Object.fromEntries(lr.attributes.map((a: any) => [a.key, a.value.stringValue ?? a.value.intValue]));
          if (Number(attrs["ato.seq"]) === reject) rejected++;
          else entries.push({ labels, attrs, line: lr.body.stringValue, ns: lr.timeUnixNano });
        }
      }
    }
    return Response.json(rejected ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: "log record too old" } } : {});
  });
  return { ...r, rejectSeq: (s) => (reject = s) };
}

export function startLoki(): Receiver {
  const seen = new Set<string>();
  return receiver(async (req, entries) => {
    if (new URL(req.url).pathname !== "/loki/api/v1/push") return new Response("404 page not found", { status: 404 });
    const body = await req.json();
    for (const st of body.streams ?? []) {
      const names = Object.keys(st.stream ?? {});
      if (names.length === 0 || names.length > 15) return new Response(`error at least one label pair is required per stream / too many labels (${names.length})`, { status: 400 });
      for (const n of names) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) return new Response(`error parsing labels: invalid label name ${n}`, { status: 400 });
      for (const [ns, line] of st.values) {
        if (typeof ns !== "string" || !/^\d+$/.test(ns) || typeof line !== "string") return new Response("error parsing push request: timestamp and line must be strings", { status: 400 });
        const key = `${JSON.stringify(st.stream)}\n${ns}\n${line}`;
        if (seen.has(key)) continue; // Loki keeps one of identical entries
        seen.add(key);
        entries.push({ labels: st.stream, attrs: {}, line, ns });
      }
    }
    return new Response(null, { status: 204 });
  });
}

function receiver(handle: (req: Request, entries: Receiver["entries"]) => Promise<Response>): Omit<Receiver, "rejectSeq"> & { rejectSeq: (s: number) => void } {
  const entries: Receiver["entries"] = [];
  const statuses: number[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const res = await handle(req, entries);
      statuses.push(res.status);
      return res;
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, entries, statuses, rejectSeq: () => {}, stop: () => server.stop(true) };
}
