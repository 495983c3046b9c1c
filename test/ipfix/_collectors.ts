/**
 * Real IPFIX collectors from Debian, started by a test on a loopback port of its own: nfcapd (written to a
 * directory, read back with nfdump) and pmacct's nfacctd (its print plugin writes CSV). Each is stopped and its
 * files removed by `stop()`, also when the test failed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSocket } from "node:dgram";

/** A free UDP (and, by luck of the same number, usually TCP) port on loopback, asked of the kernel. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor(what: string, ok: () => boolean, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** `nsenter` into a lab namespace, or nothing for the host's own. */
const inNs = (netns?: string) => (netns ? ["nsenter", `--net=/run/netns/${netns}`] : []);

/** True once some process has bound the UDP port on loopback (of the namespace, if one is given). */
function listening(port: number, netns?: string): boolean {
  return Bun.spawnSync([...inNs(netns), "ss", "-Hnlu", `sport = :${port}`]).stdout.toString().trim() !== "";
}

/** SIGTERM (nfacctd: SIGINT, the signal it shuts its plugins down on), then SIGKILL if the daemon has not exited within a few seconds. */
async function terminate(proc: ReturnType<typeof Bun.spawn>, signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill(signal);
  const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await proc.exited;
  clearTimeout(t);
}

export interface NfdumpFlow { proto: number; src: string; dst: string; sport: number; dport: number; packets: number; bytes: number; ifindex: number; vlan: number; flags: string }

export class Nfcapd {
  private constructor(readonly port: number, readonly dir: string, private readonly proc: ReturnType<typeof Bun.spawn>, private readonly logFile: string) {}

  /** nfcapd on 127.0.0.1, in the lab namespace `netns` when given (the files stay on the host's filesystem). */
  static async start(netns?: string): Promise<Nfcapd> {
    const dir = mkdtempSync(join(tmpdir(), "ato-nfcapd-"));
    const port = await freeUdpPort();
    const logFile = join(dir, "nfcapd.log");
    mkdirSync(join(dir, "flows"));
    const proc = Bun.spawn([...inNs(netns), "nfcapd", "-b", "127.0.0.1", "-p", String(port), "-w", join(dir, "flows"), "-t", "3600"], {
      stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.err`),
    });
    const c = new Nfcapd(port, dir, proc, logFile);
    await waitFor("nfcapd to listen", () => listening(port, netns));
    return c;
  }

  /** Stops nfcapd (it closes its current file on SIGTERM) and returns the log. */
  async finish(): Promise<string> {
    await terminate(this.proc);
    return readFileSync(this.logFile, "utf8") + readFileSync(`${this.logFile}.err`, "utf8");
  }

  /** Every flow record nfdump reads from what nfcapd wrote. */
  flows(): NfdumpFlow[] {
    const out = Bun.spawnSync(["nfdump", "-R", join(this.dir, "flows"), "-o", "csv", "-N"]);
    if (out.exitCode !== 0) throw new Error(`nfdump failed: ${out.stderr.toString()}`);
    const lines = out.stdout.toString().trim().split("\n");
    const head = lines[0]!.split(",");
    const col = (r: string[], n: string) => r[head.indexOf(n)]!.trim();
    return lines.slice(1).filter((l) => /^\d{4}-/.test(l)).map((l) => {
      const r = l.split(",");
      const pr = col(r, "pr");
      return {
        proto: ({ TCP: 6, UDP: 17, ICMP: 1, ICMP6: 58 } as Record<string, number>)[pr] ?? Number(pr),
        src: col(r, "sa"), dst: col(r, "da"), sport: Number(col(r, "sp")), dport: Number(col(r, "dp")),
        packets: Number(col(r, "ipkt")), bytes: Number(col(r, "ibyt")), ifindex: Number(col(r, "in")),
        vlan: Number(col(r, "svln")), flags: col(r, "flg"),
      };
    });
  }

  /** nfdump -I: the file's statistics, among them "Sequence failures". */
  info(): Record<string, string> {
    const files = readdirSync(join(this.dir, "flows")).filter((f) => f.startsWith("nfcapd.2"));
    const out: Record<string, string> = {};
    let failures = 0;
    for (const f of files) {
      const r = Bun.spawnSync(["nfdump", "-r", join(this.dir, "flows", f), "-I"]);
      for (const line of r.stdout.toString().split("\n")) {
        const m = /^([^:]+):\s*(.*)$/.exec(line);
        if (m) out[m[1]!] = m[2]!;
      }
      failures += Number(out["Sequence failures"] ?? 0);
    }
    out["Sequence failures"] = String(failures);
    return out;
  }

  async stop(): Promise<void> {
    await this.finish();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface AcctRow { vlan: number; ifindex: number; src: string; dst: string; sport: number; dport: number; proto: string; seqno: number; packets: number; bytes: number }

export class Nfacctd {
  private constructor(readonly port: number, readonly dir: string, private readonly proc: ReturnType<typeof Bun.spawn>) {}

  static async start(): Promise<Nfacctd> {
    const dir = mkdtempSync(join(tmpdir(), "ato-nfacctd-"));
    const port = await freeUdpPort();
    writeFileSync(join(dir, "nfacctd.conf"), [
      "daemonize: false", "nfacctd_ip: 127.0.0.1", `nfacctd_port: ${port}`, "plugins: print",
      // export_proto_seqno in the key: each message's sequence number is kept, so the test sees them.
      "aggregate: src_host, dst_host, src_port, dst_port, proto, vlan, in_iface, export_proto_seqno",
      "print_output: csv", `print_output_file: ${join(dir, "acct.csv")}`, "print_output_file_append: true", "print_refresh_time: 1",
      `logfile: ${join(dir, "nfacctd.log")}`, "",
    ].join("\n"));
    const proc = Bun.spawn(["nfacctd", "-f", join(dir, "nfacctd.conf")], { stdout: "ignore", stderr: "ignore" });
    const c = new Nfacctd(port, dir, proc);
    // Records that reach the core before its print plugin has run once are lost: wait for its first purge.
    const log = join(dir, "nfacctd.log");
    await waitFor("nfacctd to listen", () => listening(port) && existsSync(log) && readFileSync(log, "utf8").includes("Purging cache - END"));
    return c;
  }

  /** Every row the print plugin wrote, after waiting for `expectRows` of them (it writes once a second). */
  async rows(expectRows: number): Promise<AcctRow[]> {
    let rows: AcctRow[] = [];
    await waitFor(`nfacctd to write ${expectRows} rows`, () => (rows = this.read()).length >= expectRows, 15000).catch((e) => {
      throw new Error(`${e.message}; found ${rows.length}; its log: ${readFileSync(join(this.dir, "nfacctd.log"), "utf8").split("\n").filter((l) => !l.includes("Purging")).slice(-5).join("\n")}`);
    });
    await Bun.sleep(1200); // one more purge: nothing beyond what was expected may appear
    return this.read();
  }

  private read(): AcctRow[] {
    const rows: AcctRow[] = [];
    for (const f of readdirSync(this.dir).filter((n) => n.startsWith("acct"))) {
      const lines = readFileSync(join(this.dir, f), "utf8").trim().split("\n").filter(Boolean);
      const head = lines[0]?.split(",") ?? [];
      // With append, each purge that found data writes its own header line first.
      for (const l of lines.filter((x) => !x.startsWith("VLAN,"))) {
        const r = l.split(",");
        const c = (n: string) => r[head.indexOf(n)]!;
        rows.push({
          vlan: Number(c("VLAN")), ifindex: Number(c("IN_IFACE")), src: c("SRC_IP"), dst: c("DST_IP"), sport: Number(c("SRC_PORT")),
          dport: Number(c("DST_PORT")), proto: c("PROTOCOL"), seqno: Number(c("EXPORT_PROTO_SEQNO")), packets: Number(c("PACKETS")), bytes: Number(c("BYTES")),
        });
      }
    }
    return rows;
  }

  async stop(): Promise<void> {
    await terminate(this.proc, "SIGINT");
    await Bun.sleep(300); // its print plugin, a child of its own, exits after a last purge
    rmSync(this.dir, { recursive: true, force: true });
  }
}
