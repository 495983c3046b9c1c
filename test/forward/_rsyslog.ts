/**
 * A real rsyslogd for the syslog tests: imtcp with the GnuTLS driver on 127.0.0.1, requiring
 * a client certificate from the test CA (x509/certvalid), writing every message it receives
 * as its raw text, one per line. The main queue is direct: a message is in rsyslog's output
 * file before imrelp answers it, so a SIGKILLed rsyslogd cannot drop what it acknowledged.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Certs } from "./_tls.ts";
import { freePort, waitFor } from "./_helpers.ts";

export interface Rsyslog {
  port: number;
  /** The raw messages received so far. */
  messages(): string[];
  /** rsyslogd's own messages (why it refused a peer). */
  diagnostics(): string;
  /** SIGKILL, then the same rsyslogd again on the same port (RELP tests). */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRsyslog(dir: string, certs: Certs, o: { relp?: boolean } = {}): Promise<Rsyslog> {
  const port = await freePort();
  const work = join(dir, "rsyslog-work");
  mkdirSync(work, { recursive: true });
  const out = join(dir, "received.log");
  const conf = join(dir, "rsyslog.conf");
  writeFileSync(
    conf,
    `global(workDirectory="${work}" maxMessageSize="64k" defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="${certs.ca}" defaultNetstreamDriverCertFile="${certs.serverCert}" defaultNetstreamDriverKeyFile="${certs.serverKey}")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
${o.relp ? `module(load="imrelp")\ninput(type="imrelp" address="127.0.0.1" port="${port}")` : `input(type="imtcp" address="127.0.0.1" port="${port}")`}
main_queue(queue.type="Direct")
template(name="raw" type="string" string="%rawmsg%\\n")
*.* action(type="omfile" file="${out}" template="raw")
`,
  );
  const log = join(dir, "rsyslogd.out");
  const spawn = () => Bun.spawn(["rsyslogd", "-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")], { stdout: "ignore", stderr: Bun.file(log) });
  let proc = spawn();
  const listening = () => waitFor(`rsyslogd on ${port}`, async () => Bun.spawnSync(["ss", "-ltnH", `sport = :${port}`]).stdout.toString().includes(`:${port}`), 15_000);
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  const r: Rsyslog = {
    port,
    messages: () => read(out).split("\n").slice(0, -1),
    diagnostics: () => read(log),
    async restart(downMs) {
      proc.kill("SIGKILL");
      await proc.exited;
      await Bun.sleep(downMs);
      proc = spawn();
      await listening();
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
  try {
    await listening();
  } catch (e) {
    await r.stop();
    throw e;
  }
  return r;
}

/** The evidence line inside a raw RFC 5424 message of the forwarder, and its structured data. */
export function parseForwarded(raw: string): { seq: number; origin: string; kind: string; line: string } {
  const m = /^<134>1 \S+ \S+ ato - (\S+) \[ato@32473 origin="([^"]*)" seq="(\d+)" class="[^"]*"\] (.*)$/.exec(raw);
  if (!m) throw new Error(`not a message of the forwarder: ${raw.slice(0, 120)}`);
  return { kind: m[1]!, origin: m[2]!, seq: Number(m[3]), line: m[4]! };
}
