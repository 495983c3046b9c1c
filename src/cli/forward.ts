/**
 * `ato forward --audit-dir DIR --config FILE`: the standalone forwarder (a sidecar on a
 * mounted audit volume, or a replay of an old log). `--once` drains what the log holds and
 * exits. SIGINT and SIGTERM stop after the batch in flight; its cursor is saved only if the
 * sink acknowledged it.
 */
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { SETTINGS, readSettings } from "../config/index.ts";
import type { ForwardConfig } from "../forward/index.ts";
import { repeated } from "./_args.ts";

export default defineCommand({
  meta: { name: "forward", description: "forward the evidence log (JetStream, syslog TLS/RELP, ClickHouse, Splunk HEC, Elasticsearch, OTLP, Loki, Azure Monitor, Google SecOps, NDJSON file) from a durable cursor per sink" },
  args: {
    "audit-dir": { type: "string", description: `the audit directory to read (Default: ${SETTINGS.auditDir.default}); env ATO_AUDIT_DIR` },
    config: { type: "string", description: "the forward config file (JSON: state_dir, sinks, batch, retry, listen)", required: true },
    once: { type: "boolean", description: "send what the log holds now, then exit" },
    sink: { type: "string", description: "forward only to this sink of the config (repeatable; default: every sink)" },
    "otlp-endpoint": { type: "string", description: `${SETTINGS.otlpEndpoint.description}; env ${SETTINGS.otlpEndpoint.env.join(", ")}` },
  },
  async run({ args, rawArgs }) {
    if (!args.config) throw new AtoError("--config FILE is required", "USAGE");
    // The audit directory is the agent's setting (flag, ATO_AUDIT_DIR, default); --config here is the
    // forwarder's own sink file (JSON), not the agent's NAME=VALUE configuration.
    const settings = readSettings({ flags: { "audit-dir": args["audit-dir"] || undefined, "otlp-endpoint": args["otlp-endpoint"] || undefined }, env: { ...process.env, ATO_CONFIG: undefined } });
    const auditDir = settings.get("auditDir")!;
    const { createTracer } = await import("../trace/index.ts");
    const { VERSION } = await import("../version.ts");
    const tracer = createTracer({ endpoint: settings.get("otlpEndpoint"), serviceVersion: VERSION });
    const { Forwarder, readForwardConfig, serveForwarder } = await import("../forward/index.ts");
    const config = onlySinks(readForwardConfig(args.config), repeated(rawArgs, "sink"), args.config);
    const f = await Forwarder.create({ auditDir, config, once: args.once === true, tracer });
    const server = config.listen ? serveForwarder(f, config.listen) : undefined;
    if (server) console.error(`ato forward: metrics on ${server.url}/metrics`);
    const stop = () => f.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await f.run();
    } finally {
      server?.stop();
      await tracer.close(); // the last batches' spans leave before the exit
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  },
});

/** The config narrowed to the sinks named with --sink (all of them when none is named). */
function onlySinks(config: ForwardConfig, names: string[], file: string): ForwardConfig {
  if (names.length === 0) return config;
  const unknown = names.filter((n) => !config.sinks.some((s) => s.name === n));
  if (unknown.length) throw new AtoError(`--sink ${unknown.join(",")}: no such sink in ${file} (it has ${config.sinks.map((s) => s.name).join(", ")})`, "CONFIG");
  return { ...config, sinks: config.sinks.filter((s) => names.includes(s.name)) };
}
