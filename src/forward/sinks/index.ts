/** The sink types a forward config may name. */
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { Sink } from "../sink.ts";
import { fileSink } from "./file.ts";

const TYPES: Record<string, (s: SinkSettings) => Sink | Promise<Sink>> = {
  file: fileSink,
  jetstream: async (s) => (await import("../nats/sink.ts")).jetStreamSink(s),
  "syslog-tls": async (s) => (await import("../syslog/sink.ts")).syslogTlsSink(s),
  "syslog-relp": async (s) => (await import("../syslog/relp-sink.ts")).relpSink(s),
  clickhouse: async (s) => (await import("../http/clickhouse.ts")).clickHouseSink(s),
  elasticsearch: async (s) => (await import("../http/elastic.ts")).elasticSink(s),
  otlp: async (s) => (await import("../http/otlp.ts")).otlpSink(s),
  loki: async (s) => (await import("../http/loki.ts")).lokiSink(s),
  "azure-monitor": async (s) => (await import("../http/azure.ts")).azureSink(s),
  "google-secops": async (s) => (await import("../http/secops.ts")).secOpsSink(s),
  "splunk-hec": async (s) => (await import("../http/hec.ts")).hecSink(s),
};

export async function createSink(s: SinkSettings): Promise<Sink> {
  const make = TYPES[s.type];
  if (!make) throw new AtoError(`sink ${s.name}: unknown type '${s.type}' (known: ${Object.keys(TYPES).join(", ")})`, "CONFIG");
  return make(s);
}
