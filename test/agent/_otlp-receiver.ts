/**
 * An OTLP/HTTP receiver run inside a lab namespace (where the agent's 127.0.0.1 is): every POST body is written
 * to DIR as N.bin, answered 200; prints {"port": N} once it listens.   bun _otlp-receiver.ts DIR
 */
import { writeFileSync } from "node:fs";

const dir = process.argv[2]!;
let n = 0;
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, async fetch(req) {
  const body = new Uint8Array(await req.arrayBuffer());
  writeFileSync(`${dir}/${String(n++).padStart(4, "0")}-${new URL(req.url).pathname.replaceAll("/", "_")}.bin`, body);
  return new Response(null, { status: 200 });
} });
console.log(JSON.stringify({ port: server.port }));
process.on("SIGTERM", () => { void server.stop(true); process.exit(0); });
