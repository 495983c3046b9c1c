/**
 * Real nats-server processes for the JetStream tests: one node or a three-node cluster on
 * loopback with JetStream on disk, each node killable (SIGKILL) and restartable on the same
 * ports and store; and a client side to make a stream and read it back.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { NatsConnection } from "../../src/forward/nats/connection.ts";
import { freePort, waitFor } from "./_helpers.ts";

export interface Node {
  name: string;
  port: number;
  url: string;
  proc: Subprocess | undefined;
  conf: string;
}

export interface Cluster {
  nodes: Node[];
  urls: string[];
  kill(name: string): Promise<void>;
  start(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startNats(dir: string, o: { nodes?: number; token?: string; port?: number; tls?: { cert: string; key: string; ca: string } } = {}): Promise<Cluster> {
  const n = o.nodes ?? 1;
  const ports = await Promise.all(Array.from({ length: n }, async (_, i) => ({ client: i === 0 && o.port ? o.port : await freePort(), route: await freePort() })));
  const nodes: Node[] = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const store = join(dir, name);
    mkdirSync(store, { recursive: true });
    const routes = ports.filter((_, j) => j !== i).map((q) => `nats-route://127.0.0.1:${q.route}`);
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${p.client}`,
        `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 1GB }`,
        o.token ? `authorization { token: "${o.token}" }` : "",
        o.tls ? `tls { cert_file: "${o.tls.cert}", key_file: "${o.tls.key}", ca_file: "${o.tls.ca}", verify: true }` : "",
        n > 1 ? `cluster { name: atotest, listen: 127.0.0.1:${p.route}, routes: [${routes.join(", ")}] }` : "",
      ].join("\n"),
    );
    return { name, port: p.client, url: `nats://127.0.0.1:${p.client}`, proc: undefined, conf };
  });
  const byName = (name: string) => nodes.find((x) => x.name === name)!;
  const c: Cluster = {
    nodes,
    urls: nodes.map((x) => x.url),
    async start(name) {
      const node = byName(name);
      node.proc = Bun.spawn(["nats-server", "-c", node.conf], { stdout: "ignore", stderr: "ignore" });
      await waitFor(`nats-server ${name} on ${node.port}`, () => answers(node.port), 15_000);
    },
    async kill(name) {
      const node = byName(name);
      node.proc?.kill("SIGKILL");
      await node.proc?.exited;
      node.proc = undefined;
    },
    async stop() {
      for (const node of nodes) {
        node.proc?.kill("SIGKILL");
        await node.proc?.exited;
        node.proc = undefined;
      }
    },
  };
  try {
    await Promise.all(nodes.map((x) => c.start(x.name)));
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

async function answers(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

export async function client(urls: string[], token?: string, tls?: { ca: string; cert: string; key: string }): Promise<NatsConnection> {
  const t = tls && { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), serverName: "localhost" };
  for (let i = 0; ; i++) {
    try {
      return await NatsConnection.connect({ url: urls[i % urls.length]!, token, timeoutMs: 3000, tls: t });
    } catch (e) {
      if (i > 50) throw e;
      await Bun.sleep(200);
    }
  }
}

/** A JetStream API request; while a node rejoins or a leader is elected it may fail for a moment, so it is retried for up to 20 s. */
async function api(c: NatsConnection, subject: string, body: unknown): Promise<any> {
  let last: any;
  for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(250)) {
    try {
      const r = await c.request(subject, undefined, JSON.stringify(body), 5000);
      last = r.payload.length ? JSON.parse(r.payload.toString()) : { error: { description: `status ${r.status}` } };
    } catch (e) {
      last = { error: { description: String(e) } };
      if (c.closed) break;
    }
    if (!last.error || last.error.code === 400 || subject.includes("STREAM.CREATE")) return last;
  }
  return last;
}

/** Creates the stream, retrying while the cluster elects its meta leader. */
export async function createStream(c: NatsConnection, name: string, subjects: string[], replicas: number): Promise<void> {
  const cfg = { name, subjects, num_replicas: replicas, storage: "file", duplicate_window: 120_000_000_000 };
  for (let i = 0; ; i++) {
    const r = await api(c, `$JS.API.STREAM.CREATE.${name}`, cfg).catch((e) => ({ error: { description: String(e) } }));
    if (!r.error) return;
    if (i > 100) throw new Error(`cannot create stream ${name}: ${r.error.description}`);
    await Bun.sleep(200);
  }
}

export async function streamInfo(c: NatsConnection, name: string): Promise<{ messages: number; leader: string | undefined }> {
  const r = await api(c, `$JS.API.STREAM.INFO.${name}`, {});
  if (r.error) throw new Error(`stream info ${name}: ${r.error.description}`);
  return { messages: r.state.messages, leader: r.cluster?.leader };
}

/** Every message of the stream, through an ephemeral push consumer. */
export async function readStream(c: NatsConnection, name: string, count: number): Promise<{ msgId: string | undefined; subject: string; body: any }[]> {
  const out: { msgId: string | undefined; subject: string; body: any }[] = [];
  const inbox = c.newInbox().replace(/\.\d+$/, ".consumer");
  const deliver = `ato_test_${Math.random().toString(36).slice(2)}`;
  c.subscribe(deliver, (m) => {
    if (m.payload.length) out.push({ msgId: m.headers?.values.get("nats-msg-id"), subject: m.subject, body: JSON.parse(m.payload.toString()) });
  });
  void inbox;
  const r = await api(c, `$JS.API.CONSUMER.CREATE.${name}`, { stream_name: name, config: { deliver_subject: deliver, ack_policy: "none", deliver_policy: "all" } });
  if (r.error) throw new Error(`consumer on ${name}: ${r.error.description}`);
  await waitFor(`${count} messages from ${name}`, () => out.length >= count, 30_000);
  await Bun.sleep(300); // and nothing more than that
  return out;
}

/** Deletes a stream and its messages (benchmarks free the servers' store between runs). */
export async function deleteStream(c: NatsConnection, name: string): Promise<void> {
  const r = await api(c, `$JS.API.STREAM.DELETE.${name}`, {});
  if (r.error) throw new Error(`cannot delete stream ${name}: ${r.error.description}`);
}
