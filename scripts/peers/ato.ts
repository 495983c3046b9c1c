/**
 * ato as a watcher: `dist/ato run` with its defaults on the server veth (native XDP where the
 * driver has it), a SoftHSM token for its checkpoints. Its counts are what it put in the signed
 * evidence log: the sum of the flow records of the measured flows, after SIGTERM's final
 * collection. Addresses there are masked (/24, no ports), so the measured flows are told apart
 * from the filler by their destination /24.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { exitCpuSeconds, inServer, spawnLogged, until, type Counts, type WatchContext, type Watcher, type Watching } from "./watcher.ts";

const ATO = resolve(import.meta.dir, "../../dist/ato");
/**
 * ATO_PEERS_COMMAND: what runs instead of dist/ato, split on spaces, to profile the agent under the bench's
 * traffic, e.g. "bun --cpu-prof-md --cpu-prof-dir=/tmp/prof src/main.ts" (its CPU figures are then the profiled run's).
 */
const COMMAND = process.env.ATO_PEERS_COMMAND?.split(" ").filter(Boolean) ?? [ATO];

/** ato's export policy in the bench: its defaults, which the peers are set to as well. */
export const ATO_TIMEOUTS = { idleSeconds: 60, activeSeconds: 60 };

/**
 * `warm`: the agent has already collected one burst of the same flows before the measured one
 * (its JIT warmed, its flows known); otherwise the measured burst is the first it sees.
 */
export function atoWatcher(tokenEnv: Record<string, string>, warm = false): Watcher {
  return {
    name: warm ? "ato-warm" : "ato",
    warmup: warm,
    bytes: "IP bytes: IPv4 total length (ato's README, \"What bytes counts\")",
    options: [
      "--pin-dir, --audit-dir: private to each run (locations, not behaviour)",
      `--idle-timeout ${ATO_TIMEOUTS.idleSeconds} --active-timeout ${ATO_TIMEOUTS.activeSeconds}: its defaults, written out (the peers get the same)`,
    ],
    missing: () => (existsSync(ATO) ? undefined : `${ATO} is not built (bash scripts/build.sh)`),
    version: () => {
      const v = Bun.spawnSync([ATO, "version"]).stdout.toString();
      return `${/^version\s+(\S+)/m.exec(v)?.[1] ?? "unknown"} (commit ${/^commit\s+(\S+)/m.exec(v)?.[1] ?? "unknown"})`;
    },
    start: (ctx) => start(ctx, tokenEnv),
  };
}

async function start(ctx: WatchContext, tokenEnv: Record<string, string>): Promise<Watching> {
  const pinDir = `/sys/fs/bpf/ato-bench-peers-${ctx.tag}`;
  const auditDir = `${ctx.dir}/audit`;
  mkdirSync(auditDir);
  const { proc, log } = spawnLogged(inServer(ctx.lab, [...COMMAND, "run", "--iface", ctx.lab.server.dev, "--pin-dir", pinDir, "--audit-dir", auditDir,
    "--idle-timeout", String(ATO_TIMEOUTS.idleSeconds), "--active-timeout", String(ATO_TIMEOUTS.activeSeconds)]), `${ctx.dir}/ato.log`, tokenEnv);
  const kill = () => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    rmSync(pinDir, { recursive: true, force: true });
  };
  try {
    await until(() => { if (proc.exitCode !== null) throw new Error(`ato run exited ${proc.exitCode}: ${log().trim()}`); return /attached on/.test(log()); }, "ato run to attach");
  } catch (e) {
    kill();
    throw e;
  }
  return {
    pid: proc.pid,
    // The kernel's counts need no settling; the agent's collector reads them once a second
    // (its default --interval-ms), so two cycles after the burst it has written every record.
    settle: () => Bun.sleep(2000),
    async finish(): Promise<Counts> {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      rmSync(pinDir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`ato run exited ${code} on SIGTERM: ${log().trim().split("\n").slice(-3).join(" / ")}`);
      return evidenceCounts(auditDir, ctx.match);
    },
    side: () => ({ counts: {}, lines: log().split("\n").filter((l) => /warn|error|overflow|full/i.test(l)).slice(0, 3) }),
    kill,
    cpuAtExit: () => exitCpuSeconds(proc),
  };
}

/** Packets and bytes of the flow records whose masked addresses are the measured flows'. */
function evidenceCounts(auditDir: string, m: WatchContext["match"]): Counts {
  const c = { packets: 0, bytes: 0, records: 0 };
  for (const f of readdirSync(auditDir).filter((f) => f.endsWith(".log"))) {
    for (const line of readFileSync(`${auditDir}/${f}`, "utf8").split("\n")) {
      if (!line.includes('"kind":"flow"')) continue;
      const d = JSON.parse(line).data;
      if (d.proto === 17 && d.src === m.srcMasked && d.dst === m.dstMasked) {
        c.packets += d.packets;
        c.bytes += d.bytes;
        c.records++;
      }
    }
  }
  return c;
}
