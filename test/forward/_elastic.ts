/**
 * A receiver that enforces the Elasticsearch `_bulk` reference (no Elasticsearch runs here):
 * the API key, Content-Type application/x-ndjson, a body ending in a newline, action lines
 * with _index and _id, `create` of an existing _id answered 409 version_conflict, a 200 whose
 * items carry their own status: 429 es_rejected_execution for items it is told to refuse,
 * 400 mapper_parsing_exception for a document whose seq it is told to reject.
 */
export interface ElasticReceiver {
  url: string;
  docs: Map<string, any>;
  requests: { items: string[]; statuses: number[] }[];
  /** Refuse the next `n` items with 429. */
  throttleItems(n: number): void;
  rejectSeq(seq: number): void;
  stop(): void;
}

export function startElastic(apiKey: string): ElasticReceiver {
  const docs = new Map<string, any>();
  const requests: ElasticReceiver["requests"] = [];
  let throttle = 0;
  let reject: number | undefined;
  const error = (status: number, type: string, reason: string) => Response.json({ error: { root_cause: [{ type, reason }], type, reason }, status }, { status });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (new URL(req.url).pathname !== "/_bulk") return error(404, "resource_not_found_exception", "no handler");
      if (req.headers.get("authorization") !== `ApiKey ${apiKey}`) return error(401, "security_exception", "unable to authenticate with provided credentials");
      if (!/^application\/(x-ndjson|json)/.test(req.headers.get("content-type") ?? "")) return error(406, "media_type_header_exception", "Content-Type header is not supported");
      const text = await req.text();
      if (!text.endsWith("\n")) return error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]");
      const lines = text.slice(0, -1).split("\n");
      if (lines.length % 2) return error(400, "illegal_argument_exception", "Malformed action/metadata line");
      const items: any[] = [];
      const ids: string[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const action = JSON.parse(lines[i]!);
        const meta = action.create;
        if (!meta?._index || !meta._id) return error(400, "action_request_validation_exception", "Validation Failed: 1: an id and index are required");
        const doc = JSON.parse(lines[i + 1]!);
        ids.push(meta._id);
        let status = 201;
        let err: any;
        if (throttle > 0) {
          throttle--;
          status = 429;
          err = { type: "es_rejected_execution_exception", reason: "rejected execution of coordinating operation" };
        } else if (doc.seq === reject) {
          status = 400;
          err = { type: "mapper_parsing_exception", reason: "failed to parse field [line] of type [keyword]" };
        } else if (docs.has(meta._id)) {
          status = 409;
          err = { type: "version_conflict_engine_exception", reason: `[${meta._id}]: version conflict, document already exists` };
        } else docs.set(meta._id, doc);
        items.push({ create: { _index: meta._index, _id: meta._id, status, ...(err ? { error: err } : { result: "created" }) } });
      }
      requests.push({ items: ids, statuses: items.map((x) => x.create.status) });
      return Response.json({ took: 1, errors: items.some((x) => x.create.status >= 300), items });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    docs,
    requests,
    throttleItems: (n) => (throttle = n),
    rejectSeq: (seq) => (reject = seq),
    stop: () => server.stop(true),
  };
}
