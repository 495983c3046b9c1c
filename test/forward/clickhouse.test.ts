/**
 * The ClickHouse sink against Debian's clickhouse-server on loopback: flow records land in a
 * table SQL aggregates, with the line verbatim beside them; a re-send of everything (cursor
 * lost) still counts each line once with FINAL; a wrong password is refused, never printed.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { closeLogs, forward, logLines, removeDir, tempDir, writeConfig, writeLog } from "./_helpers.ts";
import { startClickHouse, type ClickHouse } from "./_clickhouse.ts";

let dir: string;
let audit: string;
let ch: ClickHouse | undefined;

beforeEach(async () => {
  dir = tempDir("ato-forward-ch-");
  audit = join(dir, "audit");
  mkdirSync(audit);
  ch = await startClickHouse(join(dir, "clickhouse"));
});
afterEach(async () => {
  await ch?.stop();
  ch = undefined;
  closeLogs();
  removeDir(dir);
});

const run = (password: string) =>
  forward(
    ["--audit-dir", audit, "--config", writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 400 }, sinks: [{ name: "analytics", type: "clickhouse", url: ch!.url, user: "ato", password_env: "ATO_TEST_CH_PASSWORD", table: "flows", create_table: true }] }), "--once"],
    { ATO_TEST_CH_PASSWORD: password },
  );

describe("ClickHouse sink", () => {
  test("flow records in a table SQL can aggregate, every line once and verbatim, also after a full re-send", async () => {
    writeLog(audit, 1000);
    const r = await run(ch!.password);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = logLines(audit);
    const flows = lines.map((l) => JSON.parse(l)).filter((x) => x.kind === "flow");
    expect(await ch!.query("SELECT count() FROM flows FINAL")).toBe(String(lines.length));
    expect(await ch!.query("SELECT sum(packets), sum(bytes) FROM flows FINAL WHERE kind = 'flow'")).toBe(
      `${flows.reduce((a, f) => a + f.data.packets, 0)}\t${flows.reduce((a, f) => a + f.data.bytes, 0)}`,
    );
    expect(await ch!.query("SELECT src, dst, count() FROM flows FINAL WHERE kind = 'flow' GROUP BY src, dst")).toBe(`198.18.0.0/24\t198.18.1.0/24\t${flows.length}`);
    const stored = (await ch!.query("SELECT line FROM flows FINAL ORDER BY seq FORMAT JSONEachRow")).split("\n").map((l) => JSON.parse(l).line);
    expect(stored).toEqual(lines);

    rmSync(join(dir, "state"), { recursive: true }); // the cursor is lost: everything is sent again
    expect((await run(ch!.password)).code).toBe(0);
    expect(await ch!.query("SELECT count() FROM flows FINAL")).toBe(String(lines.length));
  });

  test("a wrong password: ClickHouse's 401 is one clear error, exit 77, the password never printed", async () => {
    writeLog(audit, 20);
    const r = await run("wrong-ch-password-1b");
    expect(r.code).toBe(77);
    expect(r.stderr).toContain("sink analytics: ClickHouse answered 401");
    expect(r.stderr).toContain("Wrong password for user ato");
    expect(r.stderr).not.toContain("retrying");
    expect(r.stderr + r.stdout).not.toContain("wrong-ch-password-1b");
    expect(r.stderr + r.stdout).not.toContain(ch!.password);
  });
});
