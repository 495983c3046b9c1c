/**
 * Certificates for the TLS tests, made by OpenSSL: a CA, a server certificate for 127.0.0.1
 * and localhost, a client certificate from the same CA, and a client certificate from a CA
 * the server does not trust.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Certs {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
}

function ca(dir: string, name: string): void {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.pem`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
}

function leaf(dir: string, name: string, issuer: string, ext: string): void {
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`], dir);
}

export function makeCerts(dir: string): Certs {
  ca(dir, "ca");
  ca(dir, "rogue-ca");
  leaf(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  leaf(dir, "client", "ca", "subjectAltName=DNS:client.ato.test\nextendedKeyUsage=clientAuth\n");
  leaf(dir, "rogue", "rogue-ca", "subjectAltName=DNS:client.ato.test\nextendedKeyUsage=clientAuth\n");
  const p = (f: string) => join(dir, f);
  return { ca: p("ca.pem"), serverCert: p("server.pem"), serverKey: p("server.key"), clientCert: p("client.pem"), clientKey: p("client.key"), rogueCert: p("rogue.pem"), rogueKey: p("rogue.key") };
}
