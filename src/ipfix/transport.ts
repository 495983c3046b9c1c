/**
 * The two transports of RFC 7011 §10 that collectors run: UDP (one message per datagram, nothing acknowledged,
 * so templates are resent, §10.3.6) and TCP (one stream; templates once per connection, §10.4.2). A TCP
 * connection that drops is retried; a message that cannot be sent is counted as dropped, never queued without
 * bound. Messages keep to `maxMessage` bytes so a UDP datagram is not fragmented on a 1500-byte path.
 */
import { connect, type Socket } from "node:net";
import type { IpfixTarget } from "./target.ts";

export interface Transport {
  readonly target: IpfixTarget;
  readonly maxMessage: number;
  /** A number that changes when a new transport session begins (a TCP reconnect): templates and sequence restart. */
  session(): number;
  /** False when the message could not be handed to the kernel (not connected, or the socket's buffer is full). */
  send(msg: Uint8Array): boolean;
  close(): Promise<void>;
}

/** Largest UDP message: the IPv4 minimum MTU path of 1500 minus IP and UDP headers, with room for IPv6's. */
export const UDP_MAX_MESSAGE = 1400;
/** TCP carries larger messages (the header's 16-bit length allows 65535). */
export const TCP_MAX_MESSAGE = 16384;
const TCP_QUEUE_LIMIT = 4 << 20;
const RECONNECT_MS = 1000;

type UdpSocket = Awaited<ReturnType<typeof Bun.udpSocket>>;

export class UdpTransport implements Transport {
  readonly maxMessage = UDP_MAX_MESSAGE;
  private constructor(readonly target: IpfixTarget, private readonly socket: UdpSocket) {}

  static async open(target: IpfixTarget): Promise<UdpTransport> {
    const socket = await Bun.udpSocket({ connect: { hostname: target.host, port: target.port } });
    return new UdpTransport(target, socket);
  }

  session(): number {
    return 0;
  }

  send(msg: Uint8Array): boolean {
    try {
      return this.socket.send(msg);
    } catch (e) {
      // ECONNREFUSED from an earlier datagram's ICMP port unreachable: the collector is not up (yet). UDP has no
      // session; the message is lost and counted, like any datagram the network drops.
      if ((e as NodeJS.ErrnoException).code === "ECONNREFUSED") return false;
      throw e;
    }
  }

  async close(): Promise<void> {
    this.socket.close();
  }
}

export class TcpTransport implements Transport {
  readonly maxMessage = TCP_MAX_MESSAGE;
  private socket: Socket | null = null;
  private up = false;
  private sessions = 0;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  private constructor(readonly target: IpfixTarget) {}

  /** Connects (waiting up to `waitMs` for the first connection); keeps reconnecting while open. */
  static async open(target: IpfixTarget, waitMs = 2000): Promise<TcpTransport> {
    const t = new TcpTransport(target);
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, waitMs);
      t.dial(() => { clearTimeout(done); resolve(); });
    });
    return t;
  }

  session(): number {
    return this.sessions;
  }

  send(msg: Uint8Array): boolean {
    if (!this.up || !this.socket || this.socket.writableLength > TCP_QUEUE_LIMIT) return false;
    this.socket.write(msg);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.socket;
    if (!s) return;
    await new Promise<void>((resolve) => {
      if (s.destroyed) return resolve();
      s.once("close", () => resolve());
      s.end();
      setTimeout(() => { s.destroy(); resolve(); }, 2000).unref();
    });
  }

  private dial(onUp?: () => void): void {
    const s = connect({ host: this.target.host, port: this.target.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on("connect", () => { this.up = true; this.sessions++; onUp?.(); });
    s.on("error", () => {}); // followed by "close", where the retry is
    s.on("close", () => {
      this.up = false;
      if (!this.closed) this.timer = setTimeout(() => this.dial(onUp), RECONNECT_MS);
    });
  }
}

export async function openTransport(target: IpfixTarget): Promise<Transport> {
  return target.transport === "udp" ? UdpTransport.open(target) : TcpTransport.open(target);
}
