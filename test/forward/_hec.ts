/**
 * A receiver that enforces Splunk HEC's published rules (no Splunk runs here): the token in
 * `Authorization: Splunk <token>` (401 without, 403 wrong), a body limit (413), the channel
 * header when indexer acknowledgement is on (400 code 10), a body of concatenated JSON event
 * objects each with an `event` (400 code 6 / 12), 503 "Server is busy" with Retry-After when
 * told to, and ackIds that turn true at /services/collector/ack on the second poll.
 */
export interface HecReceiver {
  url: string;
  events: any[];
  requests: { at: number; status: number; path: string }[];
  busy(n: number, retryAfterS: number): void;
  stop(): void;
}

export function startHec(o: { token: string; maxBytes: number; acks: boolean }): HecReceiver {
  const events: any[] = [];
  const requests: HecReceiver["requests"] = [];
  const pending = new Map<number, { polls: number; events: any[] }>();
  let nextAck = 0;
  let busy = { n: 0, retryAfter: 0 };
  const reply = (path: string, status: number, body: unknown, headers: Record<string, string> = {}) => {
    requests.push({ at: Date.now(), status, path });
    return Response.json(body, { status, headers });
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      const auth = req.headers.get("authorization");
      if (!auth) return reply(path, 401, { text: "Token is required", code: 2 });
      if (auth !== `Splunk ${o.token}`) return reply(path, 403, { text: "Invalid token", code: 4 });
      const channel = req.headers.get("x-splunk-request-channel");
      if (o.acks && !channel) return reply(path, 400, { text: "Data channel is missing", code: 10 });
      const raw = await req.arrayBuffer();
      if (path === "/services/collector/ack") {
        const ids: number[] = JSON.parse(new TextDecoder().decode(raw)).acks;
        const acks: Record<string, boolean> = {};
        for (const id of ids) {
          const p = pending.get(id);
          if (p && ++p.polls >= 2) {
            events.push(...p.events); // indexed now
            pending.delete(id);
            acks[id] = true;
          } else acks[id] = p === undefined;
        }
        return reply(path, 200, { acks });
      }
      if (path !== "/services/collector/event") return reply(path, 404, { text: "The requested URL was not found on this server.", code: 404 });
      if (busy.n > 0) {
        busy.n--;
        return reply(path, 503, { text: "Server is busy", code: 9 }, { "retry-after": String(busy.retryAfter) });
      }
      if (raw.byteLength > o.maxBytes) return reply(path, 413, { text: "Content too large", code: 413 });
      const parsed = concatenatedJson(new TextDecoder().decode(raw));
      if (parsed === undefined || parsed.length === 0) return reply(path, 400, { text: "Invalid data format", code: 6 });
      if (parsed.some((e) => e?.event === undefined || e.event === "")) return reply(path, 400, { text: "Event field is required", code: 12 });
      if (!o.acks) {
        events.push(...parsed);
        return reply(path, 200, { text: "Success", code: 0 });
      }
      const id = nextAck++;
      pending.set(id, { polls: 0, events: parsed });
      return reply(path, 200, { text: "Success", code: 0, ackId: id });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    events,
    requests,
    busy: (n, s) => (busy = { n, retryAfter: s }),
    stop: () => server.stop(true),
  };
}

/** JSON objects one after another, with or without whitespace between them. */
function concatenatedJson(text: string): any[] | undefined {
  const out: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}") {
      if (--depth === 0) {
        try {
          out.push(JSON.parse(text.slice(start, i + 1)));
        } catch {
          return undefined;
        }
      }
    } else if (depth === 0 && !/\s/.test(c)) return undefined;
  }
  return depth === 0 ? out : undefined;
}
