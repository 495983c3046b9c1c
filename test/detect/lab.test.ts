/**
 * [kernel] The detectors on the lab, fed from the real flow map after real traffic: steady HTTP (nginx) and
 * MySQL (MariaDB) fire nothing; a port scan fires a scan of its source, a SYN flood at a closed port failed
 * connections at that port, a burst of refused MariaDB logins new connections at 3306, a bulk transfer bytes
 * at its port. ATO_DETECT_LONG=1 keeps the steady traffic for three minutes instead of twenty seconds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLab, type Lab } from "../../scripts/lab.ts";
import type { Anomaly } from "../../src/detect/index.ts";
import { uniquePinDir } from "../support/bpf.ts";
import { startMariadb, startNginx, type Server } from "./_servers.ts";

const CYCLE_MS = 500;
const OPTIONS = { warmupCycles: 20, cooldownCycles: 10 };
const STEADY_CYCLES = process.env.ATO_DETECT_LONG === "1" ? 360 : 40;

let lab: Lab;
const servers: Server[] = [];
const background: ReturnType<typeof Bun.spawn>[] = [];
let watcher: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">> | undefined;
let cycle = 0;
const found: { cycle: number; a: Anomaly }[] = [];
let iface = 0;
let watcherErr = "";
const newByPort = new Map<number, number>();

function client(argv: string[]) {
  const p = Bun.spawn(["ip", "netns", "exec", lab.client.ns, ...argv], { stdout: "ignore", stderr: "ignore" });
  background.push(p);
  return p;
}

async function untilCycle(n: number): Promise<void> {
  const end = Date.now() + n * CYCLE_MS * 4 + 30000;
  while (cycle < n) {
    if (Date.now() > end || watcher?.exitCode !== null) throw new Error(`watcher stopped or stalled at cycle ${cycle}, waiting for ${n}: ${watcherErr}`);
    await Bun.sleep(50);
  }
}

async function readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
  let buf = "";
  for await (const chunk of stream) {
    buf += new TextDecoder().decode(chunk);
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (line.cycle) {
        cycle = line.cycle;
        for (const a of line.anomalies as Anomaly[]) found.push({ cycle, a });
        for (const [port, n] of Object.entries(line.newByPort as Record<string, number>)) newByPort.set(Number(port), (newByPort.get(Number(port)) ?? 0) + n);
      }
    }
  }
}

/** Runs one shaped traffic and returns the anomalies of the cycles it took, plus a few after. */
async function during(run: () => Promise<unknown>): Promise<Anomaly[]> {
  const from = cycle + 1;
  await run();
  await untilCycle(cycle + 4);
  return found.filter((f) => f.cycle >= from).map((f) => f.a);
}

const PY_CONNECT = `
import socket, sys, time, select
dst, ports, n, rate = sys.argv[1], [int(p) for p in sys.argv[2].split("-")], int(sys.argv[3]), float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    port = ports[0] + (i % (ports[-1] - ports[0] + 1))
    s.connect_ex((dst, port)); socks.append(s)
    if rate: time.sleep(1 / rate)
    if len(socks) > 200:
        for o in socks[:100]: o.close()
        del socks[:100]
time.sleep(0.5)
`;
const PY_HTTP = `
import sys, time, urllib.request
while True:
    try: urllib.request.urlopen("http://%s:8080/" % sys.argv[1], timeout=2).read()
    except Exception: pass
    time.sleep(float(sys.argv[2]))
`;

beforeAll(async () => {
  lab = createLab();
  servers.push(await startNginx(lab), await startMariadb(lab));
  iface = Number(lab.exec("server", ["cat", `/sys/class/net/${lab.server.dev}/ifindex`]).trim());
  // nsenter, not ip netns exec: the latter remounts /sys, hiding bpffs and its pins.
  watcher = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bun", `${import.meta.dir}/_watch.ts`, lab.server.dev, uniquePinDir("detect"), String(CYCLE_MS), JSON.stringify(OPTIONS)], {
    stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  void readLines(watcher.stdout);
  void (async () => { for await (const c of watcher!.stderr) watcherErr += new TextDecoder().decode(c); })();
  // Steady traffic for the whole test: HTTP about 10 connections/s, MySQL logins about 3/s.
  client(["python3", "-c", PY_HTTP, lab.server.v4, "0.1"]);
  client(["bash", "-c", `while true; do mariadb --no-defaults -h ${lab.server.v4} -u app -ppw -e 'select 1' >/dev/null 2>&1; sleep 0.3; done`]);
}, 120000);

afterAll(async () => {
  for (const p of background) p.kill("SIGKILL");
  await Promise.all(background.map((p) => p.exited));
  if (watcher && watcher.exitCode === null) { watcher.kill("SIGTERM"); await watcher.exited; }
  for (const s of servers) await s.stop();
  lab?.destroy();
});

describe("[kernel] anomaly detection on shaped lab traffic", () => {
  test(`steady HTTP and MySQL fire nothing, through the warm-up and ${STEADY_CYCLES} cycles after it`, async () => {
    await untilCycle(OPTIONS.warmupCycles + STEADY_CYCLES);
    expect(found.map((f) => f.a)).toEqual([]);
    // The steady traffic was there: at least half the connections the generators aim for.
    const seconds = ((OPTIONS.warmupCycles + STEADY_CYCLES) * CYCLE_MS) / 1000;
    expect(newByPort.get(8080) ?? 0).toBeGreaterThan(seconds * 4);
    expect(newByPort.get(3306) ?? 0).toBeGreaterThan(seconds * 1);
  }, 600000);

  test("a port scan fires a scan of its (masked) source", async () => {
    const got = await during(async () => { await client(["python3", "-c", PY_CONNECT, lab.server.v4, "1-1000", "1000", "0"]).exited; });
    expect(got.filter((a) => a.kind === "scan").map((a) => a.src)).toEqual([`${lab.client.v4.replace(/\.\d+$/, ".0")}/24`]);
  });

  test("a SYN flood at a closed port fires failed connections at that port", async () => {
    const got = await during(async () => { await client(["python3", "-c", PY_CONNECT, lab.server.v4, "9999", "1500", "1000"]).exited; });
    const at = got.filter((a) => a.kind === "failed_connections" && a.scope === "service");
    expect(at.map((a) => [a.ifindex, a.proto, a.port])).toEqual([[iface, 6, 9999]]);
    expect(at[0]!.observed).toBe(1);
  });

  test("a burst of refused MariaDB logins fires new connections at 3306 (refused logins complete the handshake)", async () => {
    const got = await during(async () => {
      await client(["bash", "-c", `seq 300 | xargs -P 12 -I{} mariadb --no-defaults -h ${lab.server.v4} -u app -pwrong -e 'select 1' >/dev/null 2>&1; true`]).exited;
    });
    expect(got.filter((a) => a.kind === "new_connections" && a.scope === "service").map((a) => a.port)).toContain(3306);
  });

  test("a bulk transfer fires bytes at its port", async () => {
    const sink = Bun.spawn(["ip", "netns", "exec", lab.server.ns, "ncat", "-l", lab.server.v4, "5201"], { stdout: "ignore", stderr: "ignore" });
    background.push(sink);
    await Bun.sleep(300);
    const got = await during(async () => { await client(["bash", "-c", `head -c 200000000 /dev/zero | ncat --send-only ${lab.server.v4} 5201`]).exited; });
    expect(got.filter((a) => a.kind === "bytes" && a.scope === "service").map((a) => a.port)).toEqual([5201]);
  });
});
