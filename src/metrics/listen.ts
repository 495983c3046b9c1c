/**
 * The metrics server's address, `--listen ADDR:PORT`: `127.0.0.1:9400` (the default: this host only),
 * `0.0.0.0:9400` (every interface, as compose sets it), `[::1]:9400` (IPv6 in brackets), a host name, or a
 * port alone, which means 127.0.0.1. Port 0 asks the kernel for a free port (tests). `:9400` is refused: in some
 * tools it means every interface, and exposing evidence metrics should be a written choice.
 */
import { AtoError } from "../errors.ts";
import { readListen, SETTINGS, type ListenAddress } from "../config/index.ts";

export { LISTEN_FORMAT, readListen, type ListenAddress } from "../config/index.ts";
export const DEFAULT_LISTEN = SETTINGS.listen.default;

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
