/**
 * The metrics server's address, `--listen ADDR:PORT`: `127.0.0.1:9400` (the default: this host only),
 * `0.0.0.0:9400` (every interface, as compose sets it), `[::1]:9400` (IPv6 in brackets), a host name, or a
 * port alone, which means 127.0.0.1. Port 0 asks the kernel for a free port (tests). `:9400` is refused: in some
 * tools it means every interface, and exposing evidence metrics should be a written choice.
 * The grammar lives with the settings (config reads it and sits below the metrics server, which binds it).
 */
import { isIP } from "node:net";
import { AtoError } from "../errors.ts";

export const LISTEN_FORMAT = "ADDR:PORT, e.g. 127.0.0.1:9400, 0.0.0.0:9400 or [::1]:9400";

export interface ListenAddress {
  /** Without brackets: what Bun.serve takes. */
  hostname: string;
  port: number;
  /** Normalised ADDR:PORT, brackets around IPv6. */
  text: string;
}

/** The address, or what the text should have been (for a "must be …; got …" message). */
export function readListen(input: string): ListenAddress | { expected: string } {
  const text = input.trim();
  if (/^\d+$/.test(text)) return withPort("127.0.0.1", text);
  const v6 = /^\[([^\]]*)\]:(\d+)$/.exec(text);
  if (v6) return /^[^%]+(%[\w.-]+)?$/.test(v6[1]!) && isIP(v6[1]!.replace(/%.*/, "")) === 6 ? withPort(v6[1]!, v6[2]!) : { expected: `${LISTEN_FORMAT} (a valid IPv6 address in the brackets)` };
  if ((text.match(/:/g) ?? []).length > 1) return { expected: `${LISTEN_FORMAT} (an IPv6 address goes in brackets, as [::1]:9400)` };
  if (text.startsWith(":")) return { expected: `${LISTEN_FORMAT} (the address too: 127.0.0.1 for this host only, 0.0.0.0 for every interface)` };
  const m = /^([A-Za-z0-9.-]+):(\d+)$/.exec(text);
  if (!m) return { expected: LISTEN_FORMAT };
  if (/^[\d.]+$/.test(m[1]!) && isIP(m[1]!) !== 4) return { expected: `${LISTEN_FORMAT} (a valid IPv4 address)` };
  return withPort(m[1]!, m[2]!);
}

function withPort(hostname: string, port: string): ListenAddress | { expected: string } {
  const n = Number(port);
  if (!Number.isInteger(n) || n > 65535 || port.length > 5) return { expected: `${LISTEN_FORMAT} (a port from 0 to 65535)` };
  const text = hostname.includes(":") ? `[${hostname}]:${n}` : `${hostname}:${n}`;
  return { hostname, port: n, text };
}

/** Parses `input` or throws AtoError("CONFIG") naming `source` (a flag or variable). */
export function parseListen(input: string, source = "--listen"): ListenAddress {
  const r = readListen(input);
  if ("expected" in r) throw new AtoError(`${source} must be ${r.expected}; got '${input}'`, "CONFIG");
  return r;
}

/** The AtoError for a failed bind: one line naming the address and what to do. */
export function bindError(cause: unknown, addr: ListenAddress): AtoError {
  const code = (cause as { code?: string } | null)?.code;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  if (code === "EADDRINUSE") {
    return new AtoError(`port ${addr.port} on ${host} is already in use (stop what holds it, or choose another with --listen ADDR:PORT)`, "BUSY", { cause });
  }
  if (code === "EACCES") return new AtoError(`not allowed to listen on port ${addr.port} on ${host} (ports below 1024 need CAP_NET_BIND_SERVICE)`, "PERMISSION", { cause });
  if (code === "EADDRNOTAVAIL") return new AtoError(`cannot listen on ${addr.text}: no interface of this host has the address ${addr.hostname}`, "CONFIG", { cause });
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AtoError(`cannot listen on ${addr.text}: ${why}`, "IO", { cause });
}
