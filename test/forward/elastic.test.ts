/**
 * The Elasticsearch `_bulk` sink against a receiver enforcing the published reference: items
 * refused inside a 200 are sent again alone, a re-send of what the index holds (409) counts
 * as delivered, an item refused for its content ends the sink naming its seq.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";
import { startElastic, type ElasticReceiver } from "./_elastic.ts";

const KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
let dir: string;
let audit: string;
let es: ElasticReceiver | undefined;

beforeEach(() => {
  dir = tempDir("ato-forward-es-");
  audit = join(dir, "audit");
  mkdirSync(audit);
  es = startElastic(KEY);
});
afterEach(() => {
  es?.stop();
  closeLogs();
  removeDir(dir);
});

const run = () =>
  forward(
    ["--audit-dir", audit, "--config", writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 100 }, retry: { base_ms: 50, max_ms: 200 }, sinks: [{ name: "elastic", type: "elasticsearch", url: es!.url, api_key_env: "ATO_TEST_ES_KEY" }] }), "--once"],
    { ATO_TEST_ES_KEY: KEY },
  );

describe("Elasticsearch _bulk sink", () => {
  test("items refused with 429 inside a 200 are sent again, alone; every line indexed once under origin/seq", async () => {
    writeLog(audit, 250);
    es!.throttleItems(30);
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("es_rejected_execution_exception");
    const lines = logLines(audit);
    expect(es!.docs.size).toBe(lines.length);
    for (const [id, doc] of es!.docs) expect(id).toBe(`${doc.origin}/${doc.seq}`);
    expect([...es!.docs.values()].sort((a, b) => a.seq - b.seq).map((d) => d.line)).toEqual(lines);
    const [first, second] = es!.requests;
    expect(first!.statuses.filter((s) => s === 429).length).toBe(30);
    expect(second!.items).toEqual(first!.items.slice(0, 30)); // only the refused items, again
  });

  test("a full re-send (cursor lost) is answered 409 per item and counts as delivered", async () => {
    writeLog(audit, 150);
    expect((await run()).code).toBe(0);
    rmSync(join(dir, "state"), { recursive: true });
    const r = await run();
    expect(r.code).toBe(0);
    expect(es!.requests.at(-1)!.statuses.every((s) => s === 409)).toBe(true);
    expect(es!.docs.size).toBe(logLines(audit).length);
  });

  test("an item refused for its content ends the sink with its seq and the reason (exit 65)", async () => {
    writeLog(audit, 150);
    es!.rejectSeq(120);
    const r = await run();
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("sink elastic: Elasticsearch refused seq 120 (400 mapper_parsing_exception");
    expect(r.stderr + r.stdout).not.toContain(KEY);
    expect(es!.docs.has(`${[...es!.docs.values()][0].origin}/119`)).toBe(true);
  });
});
