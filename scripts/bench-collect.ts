#!/usr/bin/env bun
/**
 * The fleet side, measured beside a peer build of ato (an older commit, for before/after):
 *   - `ato collect --once` draining N forwarded lines from a one-node JetStream stream into a
 *     rebuilt directory, verifying after every batch (--verify-every 0) and once at the end
 *     (--verify-every 600): lines/s and CPU seconds (user + system, the child's rusage);
 *   - `ato verify` on the NDJSON export of the same log: wall, CPU and peak RSS.
 * Rounds interleave ours and the peer's. Not one of scripts/bench's sections: run on its own.
 *
 *   bun scripts/bench-collect.ts [LINES] [--peer DIR] [--rounds N] [--only collect|verify] [--every 0,600]   # DIR: a checkout with src/main.ts
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { client, createStream, startNats } from "../test/forward/_nats.ts";
import { forward, writeConfig } from "../test/forward/_helpers.ts";
import { flow, hsm, openLog } from "../test/log/_helpers.ts";

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv.splice(i, 2)[1] : undefined;
};
const peer = opt("peer");
const rounds = Number(opt("rounds") ?? 1);
/** "collect" or "verify": one half only (the peer's verify-every-0 drain is quadratic in LINES). */
const only = opt("only");
const everies = (opt("every") ?? "0,600").split(",");
const lines = Number(argv[0] ?? 100_000);
const builds: [string, string][] = [["ours", resolve(import.meta.dir, "../src/main.ts")], ...(peer ? [["peer", resolve(peer, "src/main.ts")] as [string, string]] : [])];
const dir = mkdtempSync(join(tmpdir(), "bench-collect-"));

async function run(argv: string[]): Promise<{ code: number; wall: number; cpu: number; rss: number; out: string }> {
  const t = performance.now();
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const wall = (performance.now() - t) / 1000;
  const u = p.resourceUsage()!;
  if (code !== 0 && code !== 2) throw new Error(`${argv.slice(0, 4).join(" ")} exited ${code}: ${err}`);
  return { code, wall, cpu: Number(u.cpuTime.user + u.cpuTime.system) / 1e6, rss: Number(u.maxRSS) / 2 ** 20, out };
}

async function main() {
  const key = await hsm("ed25519");
  const nats = await startNats(join(dir, "nats"));
  try {
    const audit = join(dir, "audit");
    mkdirSync(audit);
    const log = openLog(audit, key, { origin: "ato/bench-collect", checkpointEvery: 1000, rotateLines: 100_000 });
    for (let i = 0; i < lines; i += 1000) log.appendRecords("flow", Array.from({ length: Math.min(1000, lines - i) }, (_, k) => flow(i + k)));
    log.checkpoint();
    log.close();
    const conn = await client(nats.urls);
    await createStream(conn, "BENCH", ["ato.evidence.>"], 1);
    conn.close();
    const exportPath = join(dir, "export.ndjson");
    const cfg = writeConfig(dir, { state_dir: join(dir, "state"), batch: { records: 1000 }, sinks: [
      { name: "fleet", type: "jetstream", servers: nats.urls, stream: "BENCH", ack_timeout_ms: 10_000 },
      { name: "export", type: "file", path: exportPath },
    ] });
    const f = await forward(["--audit-dir", audit, "--config", cfg, "--once"]);
    if (f.code !== 0) throw new Error(`ato forward: ${f.stderr}`);
    const load = () => (require("node:os") as typeof import("node:os")).loadavg()[0]!.toFixed(1);
    console.log(`${lines} lines; load average ${load()}`);
    for (let r = 0; r < rounds; r++) {
      for (const [name, main] of builds) {
        for (const every of only === "verify" ? [] : everies) {
          const out = join(dir, `out-${name}-${every}-${r}`);
          mkdirSync(out);
          const c = await run(["bun", main, "collect", "--nats", nats.urls[0]!, "--stream", "BENCH", "--out", out, "--pubkey", key.pubkeyPath, "--durable", `d_${name}_${every}_${r}`, "--verify-every", every, "--once"]);
          const s = JSON.parse(c.out.trim().split("\n")[0]!);
          console.log(`${name.padEnd(4)} collect --verify-every ${every.padEnd(3)}: ${(lines / c.wall).toFixed(0).padStart(7)} lines/s, wall ${c.wall.toFixed(2)} s, CPU ${c.cpu.toFixed(2)} s, peak RSS ${c.rss.toFixed(0)} MiB (${s.result}, tree ${s.tree_size}); load ${load()}`);
          rmSync(out, { recursive: true, force: true });
        }
        if (only === "collect") continue;
        const v = await run(["bun", main, "verify", exportPath, "--pubkey", key.pubkeyPath, "--json"]);
        console.log(`${name.padEnd(4)} verify export.ndjson     : wall ${v.wall.toFixed(2)} s, CPU ${v.cpu.toFixed(2)} s, peak RSS ${v.rss.toFixed(0)} MiB (${JSON.parse(v.out).result}); load ${load()}`);
      }
    }
  } finally {
    await nats.stop();
    key.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
