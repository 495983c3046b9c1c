/**
 * softflowd (Debian's package) as a watcher: libpcap on the server veth, NetFlow v9 exported to
 * an nfcapd on the namespace's loopback, read back with nfdump. `softflowctl shutdown` expires
 * every flow and exports it, which is how its user gets everything it holds without waiting for
 * its timeouts. Its timeouts are set to ato's (bench-peers compares one export policy): maxlife
 * (its active timeout) to ato's active timeout, and every inactivity timeout (general, tcp,
 * tcp.rst, tcp.fin, udp, icmp) to ato's idle timeout. nfcapd is the collector, not softflowd's cost: its CPU
 * time is not counted, and it gets an 8 MiB socket buffer (-B): with its default one it dropped
 * about a third of the datagrams softflowd sends when shutdown exports 4,096 flows at once — a
 * loss of the measuring collector, not of softflowd. As a check, softflowd's own table
 * (`softflowctl dump-flows`) is read just before shutdown; a difference is reported.
 */
import { mkdirSync } from "node:fs";
import { ATO_TIMEOUTS } from "./ato.ts";
import { exitCpuSeconds, inServer, missingProgram, spawnLogged, until, untilStable, type Counts, type WatchContext, type Watcher, type Watching } from "./watcher.ts";

const PORT = 9995;
const TIMEOUTS = [
  "-t", `maxlife=${ATO_TIMEOUTS.activeSeconds}`,
  ...["general", "tcp", "tcp.rst", "tcp.fin", "udp", "icmp"].flatMap((t) => ["-t", `${t}=${ATO_TIMEOUTS.idleSeconds}`]),
];

export const softflowd: Watcher = {
  name: "softflowd",
  bytes: "IP bytes: IPv4 total length (NetFlow IN_BYTES; seen as 46 and 1500 per packet in a dump-flows check)",
  options: [
    "-n 127.0.0.1:9995 -v 9: export NetFlow v9 to nfcapd (where its counts come out)",
    "-d: stay in the foreground so its PID is known",
    `-t maxlife=${ATO_TIMEOUTS.activeSeconds} and -t general|tcp|tcp.rst|tcp.fin|udp|icmp=${ATO_TIMEOUTS.idleSeconds}: ato's export policy`,
    "-c, -p: control socket and PID file in the run's directory",
    "the collector, nfcapd, with -B 8 MiB so that it does not drop the shutdown export",
  ],
  missing: () => missingProgram(["softflowd", "softflowctl", "nfcapd", "nfdump"], "apt-get install softflowd nfdump"),
  version: () => /version ([\d.]*\d)/.exec(Bun.spawnSync(["softflowd", "-h"]).stderr.toString())?.[1] ?? "unknown", // -h prints to stderr
  async start(ctx: WatchContext): Promise<Watching> {
    const ctl = `${ctx.dir}/softflowd.ctl`, flows = `${ctx.dir}/nfcapd`;
    mkdirSync(flows);
    const nfcapd = Bun.spawn(inServer(ctx.lab, ["nfcapd", "-b", "127.0.0.1", "-p", String(PORT), "-B", String(8 << 20), "-w", flows]), { stdout: "ignore", stderr: "ignore" });
    const { proc, log } = spawnLogged(inServer(ctx.lab, ["softflowd", "-d", "-i", ctx.lab.server.dev, "-n", `127.0.0.1:${PORT}`, "-v", "9", "-c", ctl, "-p", `${ctx.dir}/softflowd.pid`, ...TIMEOUTS]), `${ctx.dir}/softflowd.log`);
    const ctlCmd = (cmd: string) => Bun.spawnSync(inServer(ctx.lab, ["softflowctl", "-c", ctl, cmd]), { stdout: "pipe", stderr: "pipe", timeout: 20000 });
    const stat = (re: RegExp) => Number(re.exec(ctlCmd("statistics").stdout.toString())?.[1] ?? NaN);
    const kill = () => { for (const p of [proc, nfcapd]) if (p.exitCode === null) p.kill("SIGKILL"); };
    const counts: Record<string, number> = {};
    const notes: string[] = [];
    try {
      await until(() => {
        if (proc.exitCode !== null) throw new Error(`softflowd exited ${proc.exitCode}`);
        if (nfcapd.exitCode !== null) throw new Error(`nfcapd exited ${nfcapd.exitCode}`);
        return ctlCmd("statistics").exitCode === 0;
      }, "softflowd's control socket");
    } catch (e) {
      kill();
      throw e;
    }
    return {
      pid: proc.pid,
      settle: async () => { await untilStable(() => stat(/Packets processed: (\d+)/)); },
      async finish(): Promise<Counts> {
        const s = ctlCmd("statistics").stdout.toString();
        const dropped = /Packets dropped by libpcap: (\d+)/.exec(s)?.[1];
        counts["packets libpcap reported dropped"] = Number(dropped ?? 0);
        if (!/Flows expired: 0 /.test(s)) notes.push(`flows expired before shutdown: ${/Flows expired: .*/.exec(s)?.[0]}`);
        const table = tableCounts(ctlCmd("dump-flows").stdout.toString(), ctx.match);
        ctlCmd("shutdown");
        await Promise.race([proc.exited, Bun.sleep(10000)]);
        if (proc.exitCode === null) throw new Error("softflowd did not exit within 10 s of softflowctl shutdown");
        // nfcapd writes its current file when it stops; give the last export datagrams a moment.
        await Bun.sleep(300);
        nfcapd.kill("SIGTERM");
        await nfcapd.exited;
        const r = Bun.spawnSync(["nfdump", "-R", flows, "-q", "-N", "-o", "fmt:%pkt %byt", `dst ip ${ctx.match.dst} and proto udp and dst port ${ctx.match.dport}`]);
        if (r.exitCode !== 0) throw new Error(`nfdump failed: ${r.stderr.toString().trim()}`);
        const c = { packets: 0, bytes: 0, records: 0 };
        for (const line of r.stdout.toString().split("\n")) {
          const [p, b] = line.trim().split(/\s+/).map(Number);
          if (p !== undefined && b !== undefined && !Number.isNaN(p) && !Number.isNaN(b)) { c.packets += p; c.bytes += b; c.records++; }
        }
        if (c.packets !== table.packets) notes.push(`nfcapd received ${c.packets} packets' worth of flows, its table held ${table.packets}`);
        return c;
      },
      side: () => ({ counts, lines: [...notes, ...log().split("\n").filter((l) => /warn|error|drop/i.test(l)).slice(0, 3)] }),
      kill,
      cpuAtExit: () => exitCpuSeconds(proc),
    };
  },
};

/** Sums softflowd's `dump-flows` lines of the measured flows ("[src]:sport <> [dst]:dport proto:17 ... packets>:N"). */
function tableCounts(dump: string, m: WatchContext["match"]): Counts {
  const c = { packets: 0, bytes: 0, records: 0 };
  for (const line of dump.split("\n")) {
    if (!line.includes(`<> [${m.dst}]:${m.dport} proto:17 `)) continue;
    c.packets += Number(/packets>:(\d+)/.exec(line)?.[1] ?? 0);
    c.bytes += Number(/octets>:(\d+)/.exec(line)?.[1] ?? 0);
    c.records++;
  }
  return c;
}
