/**
 * `ato collect --nats URL --stream NAME --out DIR --pubkey PEM…`: the fleet side of
 * forwarding. Consumes the JetStream stream `ato forward` publishes to, with a durable pull
 * consumer, rebuilds one audit directory per origin under DIR, verifies each one as it grows
 * and serves per-origin metrics. `--once` drains what the stream holds, prints one JSON
 * status per origin and exits 0 only if every origin verified with no gap or finding.
 */
import { defineCommand } from "citty";
import { mkdirSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { repeated } from "./_args.ts";

export default defineCommand({
  meta: { name: "collect", description: "consume the JetStream stream of `ato forward` and rebuild, verify and watch one audit directory per origin" },
  args: {
    nats: { type: "string", description: "the NATS server (nats://host:port)", required: true },
    stream: { type: "string", description: "the JetStream stream `ato forward` publishes to", required: true },
    out: { type: "string", description: "where the audit directory of each origin is rebuilt", required: true },
    pubkey: { type: "string", description: "PEM public key of an origin's checkpoint signing key (repeatable)", required: true },
    durable: { type: "string", description: "the durable consumer's name (Default: ato_collect)" },
    "subject-prefix": { type: "string", description: "the subjects' prefix, as the forward sink's subject_prefix (Default: ato.evidence)" },
    listen: { type: "string", description: "address for /metrics (e.g. 127.0.0.1:9465)" },
    "verify-every": { type: "string", description: "seconds between verifications of a growing origin (Default: 10)" },
    "ack-wait": { type: "string", description: "seconds a delivered message may stay unacked before it is delivered again (Default: 30)" },
    once: { type: "boolean", description: "drain what the stream holds, verify, print the status of each origin and exit" },
  },
  async run({ args, rawArgs }) {
    if (!/^nats:\/\/[^/]+$/.test(args.nats)) throw new AtoError(`--nats must be nats://host:port, not ${args.nats}`, "USAGE");
    const every = args["verify-every"] === undefined ? 10 : Number(args["verify-every"]);
    if (!(every >= 0)) throw new AtoError(`--verify-every must be a number of seconds, not ${args["verify-every"]}`, "USAGE");
    const ackWait = args["ack-wait"] === undefined ? 30 : Number(args["ack-wait"]);
    if (!(ackWait >= 1)) throw new AtoError(`--ack-wait must be at least 1 second, not ${args["ack-wait"]}`, "USAGE");
    const durable = args.durable ?? "ato_collect";
    if (!/^[A-Za-z0-9_-]+$/.test(durable)) throw new AtoError(`--durable may hold only letters, digits, _ and -: ${durable}`, "USAGE");
    mkdirSync(args.out, { recursive: true });
    const { Collector } = await import("../collect/index.ts");
    const { parseListen, bindError } = await import("../config/index.ts");
    const once = args.once === true;
    const c = await Collector.create({
      url: args.nats, stream: args.stream, durable, subjectPrefix: args["subject-prefix"] ?? "ato.evidence", out: args.out,
      pubkeys: repeated(rawArgs, "pubkey"), batch: 500, verifyEveryMs: every * 1000, ackWaitMs: ackWait * 1000, once,
      onStatus: once ? undefined : (s) => console.error(`ato collect: ${s.origin}: ${s.result}, tree size ${s.tree_size}, ${s.missing} missing, ${s.behind} behind${s.findings.length ? `, ${s.findings.length} finding(s)` : ""}`),
    });
    let server: ReturnType<typeof Bun.serve> | undefined;
    if (args.listen) {
      const addr = parseListen(args.listen, "--listen");
      try {
        server = Bun.serve({ hostname: addr.hostname, port: addr.port, async fetch(req) {
          if (new URL(req.url).pathname !== "/metrics") return new Response("not found\n", { status: 404 });
          return new Response(await c.metrics.registry.metrics(), { headers: { "content-type": c.metrics.registry.contentType } });
        } });
      } catch (e) {
        throw bindError(e, addr);
      }
      console.error(`ato collect: metrics on http://${args.listen}/metrics`);
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
