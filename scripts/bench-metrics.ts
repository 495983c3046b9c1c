#!/usr/bin/env bun
/**
 * /metrics latency of a real agent beside its floor (root; run after bash scripts/build.sh).
 *
 * `dist/ato run` on a lab veth (SoftHSM, native XDP), 100 thousand flows written into its flow map, so every
 * 1 s cycle reads 100 k flows while wrk scrapes /metrics. The floor: a Bun.serve in the same namespace that
 * returns a static body of the same size (the agent's own exposition), scraped by the same wrk in the same
 * run, rounds interleaved (agent, floor, agent, floor, …). Reported: p50, p99 and max per contender, ratios
 * agent ÷ floor, and the CPU each process spent per thousand scrapes (from /proc, user + system).
 *
 *   bun scripts/bench-metrics.ts [--quick] [--json PATH] [--flows N] [--rounds N] [--seconds S]
 *                                [--ato PATH] [--before PATH]
 *
 * --ato: the binary measured (default dist/ato). --before: another ato binary (e.g. a build of main) measured
 * the same way after it, as a third contender. --quick: 2 rounds of 2 s; default 5 rounds of 5 s.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { closeFd, objGet } from "../ffi/libbpf.ts";
import { createToken } from "../test/support/softhsm.ts";
import { benchArgs, measurement, result, runSection, section } from "./bench-lib.ts";
import { createLab, type Lab } from "./lab.ts";
import { fillFlows } from "./bench-flows.ts";

const args = benchArgs();
const FLOWS = args.number("flows", 100_000);
const ROUNDS = args.number("rounds", args.quick ? 2 : 5);
const SECONDS = args.number("seconds", args.quick ? 2 : 5);
const dist = `${import.meta.dir}/../dist`;
const TITLE = "/metrics under wrk: the agent beside a static Bun.serve floor";
const cleanups: (() => unknown)[] = [];
const TICKS = 100; // /proc/PID/stat clock ticks per second (USER_HZ)

interface Wrk { p50: number; p99: number; max: number; requests: number; cpuMsPerK: number }

const fill = (fd: number, n: number, ifindex: number) => fillFlows(fd, n, { ifindex, bytes: 5000n });

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

/** A wrk --latency figure in milliseconds (wrk prints us, ms or s). */
function ms(v: string, unit: string): number {
  return Number(v) * ({ us: 1e-3, ms: 1, s: 1e3 } as Record<string, number>)[unit]!;
}

function wrk(lab: Lab, url: string, pid: number): Wrk {
  const c0 = cpuTicks(pid);
  const out = lab.exec("server", ["wrk", "-t1", "-c4", `-d${SECONDS}s`, "--latency", url]);
  const cpu = (cpuTicks(pid) - c0) / TICKS * 1000;
  const q = (p: string) => {
    const m = out.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m"));
    if (!m) throw new Error(`no ${p}% line in wrk's output:\n${out}`);
    return ms(m[1]!, m[2]!);
  };
  const lat = out.match(/^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/m);
  const requests = Number(out.match(/(\d+) requests in/)?.[1] ?? 0);
  if (!lat || !requests) throw new Error(`wrk's output has no latency or request count:\n${out}`);
  const errors = out.match(/Non-2xx or 3xx responses: (\d+)/);
  if (errors) throw new Error(`${url}: ${errors[1]} responses were not 200:\n${out}`);
  return { p50: q("50"), p99: q("99"), max: ms(lat[1]!, lat[2]!), requests, cpuMsPerK: cpu / requests * 1000 };
}

async function main() {
  const s = section("metrics", TITLE, args.command, args.quick);
  const lab = createLab();
  cleanups.push(() => lab.destroy());
  const token = await createToken({ keyType: "ed25519" });
  cleanups.push(() => token.cleanup());
  const env = { ...process.env, ...token.env, PKCS11_PIN: token.pin, HSM_KEY_LABEL: token.keyLabel, HSM_TOKEN_LABEL: token.tokenLabel };
  const ifindex = Number(lab.exec("server", ["cat", `/sys/class/net/${lab.server.dev}/ifindex`]).trim());
  const port = 20000 + (process.pid % 20000);
  const maxFlows = FLOWS + 4096;
  const ns = `--net=/run/netns/${lab.server.ns}`;

  /** One agent: started, filled, settled; returns its pid and its first scrape. */
  const startAgent = async (binary: string, tag: string) => {
    const pinDir = `/sys/fs/bpf/ato-bench-metrics-${process.pid}-${tag}`;
    const auditDir = mkdtempSync("/tmp/ato-bench-metrics-");
    const p = Bun.spawn(["nsenter", ns, binary, "run", "--iface", lab.server.dev, "--pin-dir", pinDir, "--audit-dir", auditDir,
      "--listen", `127.0.0.1:${port}`, "--max-flows", String(maxFlows), "--interval-ms", "1000"], { env, stderr: "pipe", stdout: "ignore" });
    let out = "";
    void (async () => { for await (const c of p.stderr) out += new TextDecoder().decode(c); })();
    const stop = async () => {
      p.kill("SIGTERM");
      await p.exited;
      rmSync(pinDir, { recursive: true, force: true });
      Bun.spawnSync(["chattr", "-R", "-a", auditDir]);
      rmSync(auditDir, { recursive: true, force: true });
    };
    cleanups.push(stop);
    while (!/attached on/.test(out)) {
      if (p.exitCode !== null) throw new Error(`${binary} run exited ${p.exitCode}: ${out}`);
      await Bun.sleep(5);
    }
    const fd = objGet(`${pinDir}/flow_map`);
    await fill(fd, FLOWS, ifindex);
    closeFd(fd);
    // Two cycles: the first takes in the new flows, the second is a steady one.
    let body = "";
    for (let i = 0; i < 100; i++) {
      await Bun.sleep(500);
      body = lab.exec("server", ["curl", "-sf", `http://127.0.0.1:${port}/metrics`], { allowFail: true });
      const entries = Number(body.match(/^ato_flow_map_entries (\d+)/m)?.[1] ?? 0);
      if (entries >= FLOWS) break;
    }
    if (!(Number(body.match(/^ato_flow_map_entries (\d+)/m)?.[1] ?? 0) >= FLOWS)) throw new Error(`${binary}: ato_flow_map_entries never reached ${FLOWS}:\n${out}`);
    await Bun.sleep(2000);
    return { pid: p.pid, body, stop };
  };

  /** The floor: Bun.serve in the same namespace returning `body` (a static Response, as Bun serves best). */
  const startFloor = async (body: string) => {
    const dir = mkdtempSync("/tmp/ato-bench-metrics-floor-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(`${dir}/body`, body);
    writeFileSync(`${dir}/floor.ts`, `const body = await Bun.file(${JSON.stringify(`${dir}/body`)}).text();
Bun.serve({ hostname: "127.0.0.1", port: ${port + 1}, routes: { "/metrics": new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } }) }, fetch: () => new Response("", { status: 404 }) });
console.log("listening");`);
    const p = Bun.spawn(["nsenter", ns, process.execPath, `${dir}/floor.ts`], { stdout: "pipe", stderr: "inherit" });
    cleanups.push(async () => { p.kill(); await p.exited; });
    const reader = p.stdout.getReader();
    await reader.read();
    return p.pid;
  };

  const contenders: [string, string][] = [["ato", args.value("ato") ?? `${dist}/ato`]];
  if (args.value("before")) contenders.push(["ato before", args.value("before")!]);
  const samples = new Map<string, Wrk[]>();
  let floorPid = 0, size = 0;
  for (const [name, binary] of contenders) {
    const agent = await startAgent(binary, name.replace(/\W/g, ""));
    if (!floorPid) {
      size = agent.body.length;
      floorPid = await startFloor(agent.body);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const a = wrk(lab, `http://127.0.0.1:${port}/metrics`, agent.pid);
      const f = wrk(lab, `http://127.0.0.1:${port + 1}/metrics`, floorPid);
      (samples.get(name) ?? samples.set(name, []).get(name)!).push(a);
      (samples.get("floor") ?? samples.set("floor", []).get("floor")!).push(f);
      console.log(`round ${r + 1}: ${name} p50 ${a.p50.toFixed(2)} p99 ${a.p99.toFixed(2)} max ${a.max.toFixed(2)} ms (${a.requests} req, ${a.cpuMsPerK.toFixed(0)} ms CPU/1000); floor p50 ${f.p50.toFixed(2)} p99 ${f.p99.toFixed(2)} max ${f.max.toFixed(2)} ms (${f.requests} req, ${f.cpuMsPerK.toFixed(0)} ms CPU/1000); load ${loadavg()[0]!.toFixed(2)}`);
    }
    await agent.stop();
  }
  const names = [...contenders.map(([n]) => n), "floor"];
  const command = `wrk -t1 -c4 -d${SECONDS}s --latency /metrics, dist/ato run with ${FLOWS.toLocaleString()} flows in its map, 1 s cycles`;
  const inputs = { flows: FLOWS, rounds: ROUNDS, wrk_seconds: SECONDS, body_bytes: size, interval_ms: 1000, order: "interleaved with the floor" };
  for (const q of ["p50", "p99", "max"] as const) {
    s.results.push(result({
      id: `scrape-${q}`, title: `/metrics ${q} under wrk, ${FLOWS.toLocaleString()} flows`, better: "lower", command, inputs,
      measurements: names.map((n) => measurement(n === "floor" ? `Bun.serve static body (${size} B)` : n, "ms", samples.get(n)!.map((w) => w[q]))),
    }));
  }
  s.results.push(result({
    id: "scrape-cpu", title: "process CPU per 1,000 scrapes (user + system)", better: "lower", command, inputs,
    measurements: names.map((n) => measurement(n === "floor" ? "Bun.serve static body" : `${n} (whole agent, cycles included)`, "ms", samples.get(n)!.map((w) => w.cpuMsPerK))),
  }));
  s.notes.push(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} at the end`);
  return s.finish();
}

await runSection("metrics", TITLE, main, async () => {
  for (const c of cleanups.reverse()) {
    try { await c(); } catch { /* keep cleaning */ }
  }
});
