/**
 * ClickHouse over HTTP: `INSERT INTO <table> FORMAT JSONEachRow`, one row per line, with the
 * flow fields in their own columns so SQL can aggregate them (sum(bytes) by src, by iface, by
 * hour) and the line verbatim beside them for verification. The table (ReplacingMergeTree
 * ordered by origin, seq) folds re-sent rows into one: `SELECT … FINAL` counts every line
 * exactly once even after an at-least-once re-send.
 */
import { AtoError } from "../../errors.ts";
import type { SinkSettings } from "../config.ts";
import type { ForwardEvent } from "../event.ts";
import { readSecret } from "../secret.ts";
import { SinkError, type Sink } from "../sink.ts";
import { failureOf, post } from "./status.ts";

export const TABLE_COLUMNS =
  "origin String, seq UInt64, kind String, class String, time DateTime, ts String, line String, " +
  "iface String, proto UInt8, src String, dst String, sport UInt16, dport UInt16, packets UInt64, bytes UInt64";

export function createTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (${TABLE_COLUMNS}) ENGINE = ReplacingMergeTree() ORDER BY (origin, seq)`;
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
/** Codes of exceptions about the data or the schema (not worth a retry) and about the user. */
const REJECTED = new Set([16, 26, 27, 38, 41, 53, 60, 62, 72, 81, 117]);
const REFUSED = new Set([192, 193, 194, 195, 497, 516]);

export function clickHouseSink(s: SinkSettings): Sink {
  const at = `sink ${s.name}`;
  const r = s.raw;
  if (typeof r.url !== "string" || !/^https?:\/\//.test(r.url)) throw new AtoError(`${at}: url (http://clickhouse:8123) is required`, "CONFIG");
  const table = typeof r.table === "string" ? r.table : "ato_evidence";
  if (!TABLE.test(table)) throw new AtoError(`${at}: table must be a name or db.name; got '${table}'`, "CONFIG");
  const user = typeof r.user === "string" ? r.user : "default";
  const password = readSecret(at, r, "password");
  const timeoutMs = typeof r.timeout_ms === "number" ? r.timeout_ms : 30_000;
  const base = r.url.replace(/\/+$/, "");
  const headers = () => ({ "x-clickhouse-user": user, ...(password ? { "x-clickhouse-key": password.reveal() } : {}) });
  let created = r.create_table !== true;

  async function run(query: string, body: string): Promise<void> {
    const res = await post(`${base}/?query=${encodeURIComponent(query)}`, { headers: headers(), body }, timeoutMs);
    if (res.ok) return;
    const text = await res.clone().text().catch(() => "");
    const code = Number(/Code: (\d+)/.exec(text)?.[1]);
    const msg = `ClickHouse answered ${res.status}: ${text.slice(0, 300).replace(/\s+/g, " ")}`;
    if (REFUSED.has(code)) throw new SinkError(`${msg} (check user and password)`, "refused");
    if (REJECTED.has(code)) throw new SinkError(msg, "rejected");
    throw (await failureOf(res, "ClickHouse"))!;
  }

  return {
    name: s.name,
    type: "clickhouse",
    async send(events: ForwardEvent[]) {
      if (!created) {
        await run(createTableSql(table), "");
        created = true;
      }
      await run(`INSERT INTO ${table} FORMAT JSONEachRow`, events.map(row).join("\n") + "\n");
    },
    async close() {},
  };
}

function row(e: ForwardEvent): string {
  const r: Record<string, unknown> = { origin: e.origin, seq: e.seq, kind: e.kind, class: e.class, time: e.ts.slice(0, 19).replace("T", " "), ts: e.ts, line: e.line };
  if (e.kind === "flow") {
    const d = (JSON.parse(e.line) as { data: Record<string, unknown> }).data;
    for (const k of ["iface", "src", "dst"]) if (typeof d[k] === "string") r[k] = d[k];
    for (const k of ["proto", "sport", "dport", "packets", "bytes"]) if (Number.isSafeInteger(d[k])) r[k] = d[k];
  }
  return JSON.stringify(r);
}
