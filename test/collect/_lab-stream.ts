/**
 * Run inside a lab namespace (the test process cannot reach it):
 *   bun _lab-stream.ts create URLS STREAM REPLICAS   makes a stream for ato.evidence.>
 *   bun _lab-stream.ts delete URLS STREAM ORIGIN SEQ removes the message carrying ORIGIN's line SEQ
 */
import { client, createStream } from "../forward/_nats.ts";

const [what, urls, stream, a, b] = process.argv.slice(2);
const conn = await client(urls!.split(","));
const api = async (subject: string, body: unknown) => JSON.parse((await conn.request(subject, undefined, JSON.stringify(body), 5000)).payload.toString());
if (what === "create") await createStream(conn, stream!, ["ato.evidence.>"], Number(a));
else if (what === "delete") {
  for (let s = 1; ; s++) {
    const r = await api(`$JS.API.STREAM.MSG.GET.${stream}`, { seq: s });
    if (r.error) throw new Error(`no message for ${a}/${b} in ${stream}: ${r.error.description}`);
    const body = JSON.parse(Buffer.from(r.message.data, "base64").toString());
    if (body.origin !== a || body.seq !== Number(b)) continue;
    const d = await api(`$JS.API.STREAM.MSG.DELETE.${stream}`, { seq: s });
    if (!d.success) throw new Error(`cannot delete stream message ${s}: ${JSON.stringify(d)}`);
    break;
  }
} else throw new Error(`unknown command ${what}`);
conn.close();
