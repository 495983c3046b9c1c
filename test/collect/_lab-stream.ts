/** `bun _lab-stream.ts URLS STREAM REPLICAS`, run inside a lab namespace: makes a JetStream stream for ato.evidence.> there. */
import { client, createStream } from "../forward/_nats.ts";

const [urls, stream, replicas] = process.argv.slice(2);
const conn = await client(urls!.split(","));
await createStream(conn, stream!, ["ato.evidence.>"], Number(replicas));
conn.close();
