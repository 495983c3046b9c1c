/**
 * Real servers from Debian in the lab's server namespace, each on the server's address with files of its
 * own, stopped and removed by stop(): nginx (HTTP on :8080) and MariaDB (:3306, a user `app` with password `pw`).
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lab } from "../../scripts/lab.ts";

async function until(what: string, ok: () => boolean, ms = 60000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

export interface Server { stop(): Promise<void> }

function inNs(lab: Lab, argv: string[], out = "ignore" as const) {
  return Bun.spawn(["ip", "netns", "exec", lab.server.ns, ...argv], { stdout: out, stderr: "ignore" });
}

export async function startNginx(lab: Lab): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "ato-nginx-"));
  writeFileSync(join(dir, "nginx.conf"), `daemon off; pid ${dir}/pid; error_log ${dir}/error.log; worker_processes 1;
events { worker_connections 256; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen ${lab.server.v4}:8080; location / { return 200 "ok\\n"; } } }
`);
  const p = inNs(lab, ["nginx", "-p", dir, "-c", join(dir, "nginx.conf")]);
  await until("nginx", () => lab.exec("server", ["ss", "-Hntl", "sport = :8080"]).trim() !== "");
  return { async stop() { p.kill("SIGTERM"); await p.exited; rmSync(dir, { recursive: true, force: true }); } };
}

export async function startMariadb(lab: Lab): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "ato-mariadb-"));
  const data = join(dir, "data"), sock = join(dir, "sock");
  lab.exec("server", ["mariadb-install-db", "--no-defaults", `--datadir=${data}`, "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"]);
  const p = inNs(lab, ["mariadbd", "--no-defaults", `--datadir=${data}`, `--socket=${sock}`, "--port=3306", `--bind-address=${lab.server.v4}`, "--user=root",
    `--pid-file=${dir}/pid`, "--skip-log-bin", "--innodb-buffer-pool-size=16M", "--max-connections=500", "--max-connect-errors=1000000"]);
  await until("mariadb", () => existsSync(sock));
  lab.exec("server", ["mariadb", "--no-defaults", "-S", sock, "-u", "root", "-e", "CREATE USER app@'%' IDENTIFIED BY 'pw'; GRANT USAGE ON *.* TO app@'%';"]);
  return { async stop() { p.kill("SIGTERM"); await p.exited; rmSync(dir, { recursive: true, force: true }); } };
}
