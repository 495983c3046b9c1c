/**
 * One TLS connection to a syslog receiver, and what its failures mean. The certificate chain
 * and the name are checked by Node's TLS (a mismatch is refused, never retried); a receiver
 * that closes the connection right after the handshake has refused our client certificate
 * (with TLS 1.3 the client learns it only then), so the connection is given a moment to
 * settle before it counts as open.
 */
import { connect, type TLSSocket } from "node:tls";
import { SinkError } from "../sink.ts";

export interface TlsTarget {
  host: string;
  port: number;
  serverName: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  settleMs: number;
  timeoutMs: number;
}

const REFUSED_CERT = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_UNTRUSTED"]);

export function openTls(t: TlsTarget): Promise<TLSSocket> {
  const where = `${t.host}:${t.port}`;
  return new Promise((resolve, reject) => {
    const s = connect({ host: t.host, port: t.port, servername: t.serverName, ca: t.ca, cert: t.cert, key: t.key, minVersion: "TLSv1.2" });
    let settled = false;
    let secured = false;
    const timer = setTimeout(() => fail(new SinkError(`no TLS handshake with ${where} within ${t.timeoutMs} ms`, "unreachable")), t.timeoutMs);
    const fail = (e: SinkError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.once("error", (e) => fail(describe(e as NodeJS.ErrnoException, where, t.serverName, secured)));
    s.once("close", () => fail(new SinkError(`${where} closed the TLS connection right after the handshake: it refused our client certificate, or wants one`, "refused")));
    s.once("secureConnect", () => {
      secured = true;
      setTimeout(() => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.removeAllListeners("close");
        s.removeAllListeners("error");
        resolve(s);
      }, t.settleMs);
    });
  });
}

function describe(e: NodeJS.ErrnoException, where: string, name: string, handshakeDone: boolean): SinkError {
  const code = e.code ?? "";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return new SinkError(`the certificate of ${where} is not for ${name} (TLS name mismatch): ${e.message}`, "refused", { cause: e });
  if (REFUSED_CERT.has(code)) return new SinkError(`the certificate of ${where} is not trusted (${code}): check ca_file`, "refused", { cause: e });
  if (handshakeDone && (code === "ECONNRESET" || code === "EPIPE")) return new SinkError(`${where} reset the TLS connection right after the handshake: it refused our client certificate, or wants one`, "refused", { cause: e });
  if (/alert|certificate/i.test(e.message)) return new SinkError(`${where} refused the TLS handshake: ${e.message}`, "refused", { cause: e });
  return new SinkError(`cannot reach ${where}: ${code || e.message}`, "unreachable", { cause: e });
}
