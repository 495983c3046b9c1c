/**
 * RELP, the Reliable Event Logging Protocol of rsyslog (librelp): every syslog message is a
 * numbered transaction the server answers with "rsp 200 OK" once it has taken the message, so
 * a batch counts as delivered only when every transaction of it is answered; a connection
 * lost before that re-sends the batch. Frames are TXNR SP COMMAND SP DATALEN [SP DATA] LF.
 */
import type { Socket } from "node:net";
import { SinkError } from "../sink.ts";

const OFFERS = "relp_version=0\nrelp_software=ato\ncommands=syslog";

interface Pending {
  resolve: () => void;
  reject: (e: SinkError) => void;
}

export class RelpSession {
  private txnr = 1;
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private dead: SinkError | undefined;

  constructor(private readonly socket: Socket, private readonly where: string) {
    socket.on("data", (chunk: Buffer) => this.feed(chunk));
    socket.on("error", (e: NodeJS.ErrnoException) => this.die(new SinkError(`the RELP connection to ${where} failed: ${e.code ?? e.message}`, "unreachable")));
    socket.on("close", () => this.die(new SinkError(`${where} closed the RELP connection`, "unreachable")));
  }

  get closed(): boolean {
    return this.dead !== undefined;
  }

  /** The "open" transaction: the server must offer the syslog command. */
  async open(timeoutMs: number): Promise<void> {
    await this.transact([["open", OFFERS]], timeoutMs);
  }

  /** Sends every message as a syslog transaction and waits until all are answered 200. */
  send(messages: string[], timeoutMs: number): Promise<void> {
    return this.transact(messages.map((m) => ["syslog", m]), timeoutMs);
  }

  close(): void {
    if (!this.dead) this.socket.write(this.frame("close", ""));
    this.die(new SinkError(`the RELP connection to ${this.where} was closed`, "unreachable"));
  }

  private transact(cmds: [string, string][], timeoutMs: number): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const waits: Promise<void>[] = [];
    let wire = "";
    for (const [cmd, data] of cmds) {
      const n = this.txnr;
      this.txnr = this.txnr >= 999_999_999 ? 1 : this.txnr + 1;
      waits.push(new Promise((resolve, reject) => this.pending.set(n, { resolve, reject })));
      const len = Buffer.byteLength(data);
      wire += `${n} ${cmd} ${len}${len ? " " : ""}${data}\n`;
    }
    this.socket.write(wire);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SinkError(`${this.where} did not answer ${cmds.length} RELP transaction(s) within ${timeoutMs} ms`, "unreachable")), timeoutMs);
    });
    return Promise.race([Promise.all(waits).then(() => undefined), timeout]).finally(() => clearTimeout(timer));
  }

  private frame(cmd: string, data: string, n = this.txnr): Buffer {
    const body = Buffer.from(data, "utf8");
    return Buffer.concat([Buffer.from(`${n} ${cmd} ${body.length}${body.length ? " " : ""}`), body, Buffer.from("\n")]);
  }

  private feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const m = /^(\d+) (\w+) (\d+)/.exec(this.buf.subarray(0, 64).toString("latin1"));
      if (!m) return;
      const len = Number(m[3]);
      const start = m[0].length + (len > 0 ? 1 : 0);
      if (this.buf.length < start + len + 1) return;
      const data = this.buf.subarray(start, start + len).toString("utf8");
      this.buf = this.buf.subarray(start + len + 1);
      this.answer(Number(m[1]), m[2]!, data);
    }
  }

  private answer(n: number, cmd: string, data: string): void {
    if (cmd === "serverclose") return this.die(new SinkError(`${this.where} ended the RELP session`, "unreachable"));
    if (cmd !== "rsp") return;
    const p = this.pending.get(n);
    if (!p) return;
    this.pending.delete(n);
    const status = Number(data.slice(0, 3));
    if (status === 200) p.resolve();
    else p.reject(new SinkError(`${this.where} answered RELP transaction ${n} with ${data.split("\n")[0]}`, status >= 500 ? "rejected" : "unreachable"));
  }

  private die(e: SinkError): void {
    if (this.dead) return;
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.socket.destroy();
  }
}
