/**
 * pmacctd (Debian's pmacct) as a watcher: libpcap on the server veth, the in-memory table plugin,
 * read with `pmacct -s -O json` before it is stopped. Without an `aggregate` line pmacctd sums
 * everything into one entry, so the flow's 5-tuple is given, as any flow-monitoring setup does;
 * every other setting (plugin buffers and pipes, pcap buffer, table size) is pmacct's default.
 * Its plugin reports "Missing data detected" when its core→plugin pipe overflows: those
 * warnings are counted and reported beside its figures.
 */
import { writeFileSync } from "node:fs";
import { exitCpuSeconds, inServer, killTree, spawnLogged, missingProgram, until, untilStable, type Counts, type WatchContext, type Watcher, type Watching } from "./watcher.ts";

export const pmacctd: Watcher = {
  name: "pmacctd",
  bytes: "IP bytes: IPv4 total length (seen as 46 and 1500 per packet in a pmacct -s check)",
  options: [
    "aggregate: src_host, dst_host, src_port, dst_port, proto (per-flow entries; without it one total)",
    "plugins: memory, imt_path in the run's directory (where its counts come out)",
    "daemonize: false (so its PID is known)",
  ],
  missing: () => missingProgram(["pmacctd", "pmacct"], "apt-get install pmacct"),
  version: () => /pmacctd (\S+)/.exec(Bun.spawnSync(["pmacctd", "-V"]).stdout.toString())?.[1] ?? "unknown",
  async start(ctx: WatchContext): Promise<Watching> {
    const pipe = `${ctx.dir}/pmacct.pipe`, conf = `${ctx.dir}/pmacctd.conf`;
    writeFileSync(conf, [
      "daemonize: false",
      `pcap_interface: ${ctx.lab.server.dev}`,
      "aggregate: src_host, dst_host, src_port, dst_port, proto",
      "plugins: memory",
      `imt_path: ${pipe}`,
      "",
    ].join("\n"));
    const { proc, log } = spawnLogged(inServer(ctx.lab, ["pmacctd", "-f", conf]), `${ctx.dir}/pmacctd.log`);
    const table = () => {
      const r = Bun.spawnSync(["pmacct", "-p", pipe, "-s", "-O", "json"], { stdout: "pipe", stderr: "pipe", timeout: 20000 });
      if (r.exitCode !== 0) throw new Error(`pmacct -s failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
      return r.stdout.toString().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { ip_dst: string; port_dst: number; ip_proto: string; packets: number; bytes: number });
    };
    const kill = () => killTree(proc.pid);
    try {
      await until(() => {
        if (proc.exitCode !== null) throw new Error(`pmacctd exited ${proc.exitCode}: ${log().trim().split("\n").slice(-2).join(" / ")}`);
        return /waiting for data/.test(log());
      }, "pmacctd's memory plugin");
    } catch (e) {
      kill();
      throw e;
    }
    return {
      pid: proc.pid,
      settle: async () => { await untilStable(() => table().reduce((s, e) => s + e.packets, 0)); },
      async finish(): Promise<Counts> {
        const c = { packets: 0, bytes: 0, records: 0 };
        for (const e of table()) {
          if (e.ip_dst === ctx.match.dst && e.port_dst === ctx.match.dport && e.ip_proto === "udp") { c.packets += e.packets; c.bytes += e.bytes; c.records++; }
        }
        proc.kill("SIGTERM");
        await Promise.race([proc.exited, Bun.sleep(5000)]);
        kill();
        return c;
      },
      side: () => ({
        counts: { '"Missing data detected" warnings (its core→plugin pipe full; the warning suggests raising plugin_buffer_size, plugin_pipe_size)': log().match(/Missing data detected/g)?.length ?? 0 },
        lines: [],
      }),
      kill,
      cpuAtExit: () => exitCpuSeconds(proc),
    };
  },
};
