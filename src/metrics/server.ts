/**
 * createServer(): the metrics app on a real socket with Bun.serve. Binding happens before this returns, so a
 * busy port is an AtoError("BUSY") at start-up, not a log line later.
 */
import { createApp, type AppOptions } from "./app.ts";
import { bindError, DEFAULT_LISTEN, parseListen, type ListenAddress } from "./listen.ts";

export interface ServerOptions extends AppOptions {
  /** ADDR:PORT (see listen.ts); default 127.0.0.1:9400. */
  listen?: string;
}

export interface MetricsServer {
  /** The bound port: the one asked for, or the kernel's choice for port 0. */
  readonly port: number;
  readonly hostname: string;
  /** Base URL, e.g. http://127.0.0.1:9400 (IPv6 in brackets). */
  readonly url: string;
  /** Stops accepting connections and closes open ones. */
  stop(): Promise<void>;
}

export function createServer(options: ServerOptions): MetricsServer {
  const addr = parseListen(options.listen ?? DEFAULT_LISTEN);
  const app = createApp(options);
  const server = serve(addr, app.fetch);
  const port = server.port ?? addr.port;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    port,
    hostname: addr.hostname,
    url: `http://${host}:${port}`,
    stop: () => server.stop(true),
  };
}

function serve(addr: ListenAddress, fetch: (req: Request) => Response | Promise<Response>) {
  try {
    return Bun.serve({ hostname: addr.hostname, port: addr.port, reusePort: false, fetch, error: () => new Response("internal error\n", { status: 500 }) });
  } catch (e) {
    throw bindError(e, addr);
  }
}
