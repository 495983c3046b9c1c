/**
 * `ato collect --nats URL --stream NAME --out DIR --pubkey PEM…`: the fleet side of
 * forwarding. Consumes the JetStream stream `ato forward` publishes to, with a durable pull
 * consumer, rebuilds one audit directory per origin under DIR, verifies each one as it grows
 * and serves per-origin metrics. `--once` drains what the stream holds, prints one JSON
 * status per origin and exits 0 only if every origin verified with no gap or finding.
 */
import { defineCommand } from "citty";
import { mkdirSync, readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { commandArgs, settingsFor } from "./_args.ts";

export default defineCommand({
  meta: { name: "collect", description: "consume the JetStream stream of `ato forward` and rebuild, verify and watch one audit directory per origin" },
  args: commandArgs("collect"),
  async run({ args, rawArgs }) {
    const s = settingsFor("collect", args, rawArgs);
    const out = s.get("collectOut")!;
    const listen = s.get("collectListen");
    const once = s.get("collectOnce") === true;
    mkdirSync(out, { recursive: true });
    const { Collector } = await import("../collect/index.ts");
    const { parseListen, bindError } = await import("../config/index.ts");
    const c = await Collector.create({
      token: s.get("collectNatsToken") as string | undefined, tls: natsTls(s),
      url: s.get("collectNats")!, stream: s.get("collectStream")!, durable: s.get("collectDurable")!, subjectPrefix: s.get("collectSubjectPrefix")!, out,
      pubkeys: s.get("collectPubkey")!, batch: 500, verifyEveryMs: s.get("collectVerifyEvery")! * 1000, ackWaitMs: s.get("collectAckWait")! * 1000, once,
      onStatus: once ? undefined : (s) => console.error(`ato collect: ${s.origin}: ${s.result}, tree size ${s.tree_size}, ${s.missing} missing, ${s.behind} behind${s.findings.length ? `, ${s.findings.length} finding(s)` : ""}`),
    });
    let server: ReturnType<typeof Bun.serve> | undefined;
    if (listen) {
      const addr = parseListen(listen, "--listen");
      try {
        server = Bun.serve({ hostname: addr.hostname, port: addr.port, async fetch(req) {
          if (new URL(req.url).pathname !== "/metrics") return new Response("not found\n", { status: 404 });
          return new Response(await c.metrics.registry.metrics(), { headers: { "content-type": c.metrics.registry.contentType } });
        } });
      } catch (e) {
        throw bindError(e, addr);
      }
      console.error(`ato collect: metrics on http://${listen}/metrics`);
    }
    const stop = () => c.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await c.run();
    } finally {
      server?.stop(true);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    const all = [...c.status.values()];
    if (once) for (const s of all) console.log(JSON.stringify(s));
    const bad = all.filter((s) => s.result !== "verified" || s.missing > 0 || s.findings.length > 0);
    process.exitCode = bad.length === 0 ? 0 : bad.some((s) => s.result === "tampered" || s.findings.some((f) => f.kind === "conflict")) ? 1 : 2;
  },
});

/** --nats-ca (and --nats-cert with --nats-key for mutual TLS): the files read here, so a bad path is named before connecting. */
function natsTls(s: ReturnType<typeof settingsFor>) {
  const [ca, cert, key] = (["collectNatsCa", "collectNatsCert", "collectNatsKey"] as const).map((k) => s.get(k) as string | undefined);
  const name = s.get("collectNatsServerName") as string | undefined;
  if (!ca) {
    if (cert || key || name) throw new AtoError("--nats-cert, --nats-key and --nats-server-name need --nats-ca (the CA that signed the server's certificate)", "USAGE");
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) throw new AtoError("give --nats-cert and --nats-key together (mutual TLS), or neither", "USAGE");
  const read = (flag: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new AtoError(`${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "USAGE", { cause: e });
    }
  };
  return { ca: read("--nats-ca", ca), cert: read("--nats-cert", cert), key: read("--nats-key", key), serverName: name };
}
