/**
 * A real clickhouse-server (Debian's) for the ClickHouse sink tests: its own data directory,
 * HTTP and native ports on 127.0.0.1, one user `ato` with a password.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitFor } from "./_helpers.ts";

export interface ClickHouse {
  url: string;
  password: string;
  query(sql: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startClickHouse(dir: string): Promise<ClickHouse> {
  const [http, tcp] = [await freePort(), await freePort()];
  const password = "ch-pass-" + Math.random().toString(36).slice(2, 10);
  for (const d of ["data", "tmp"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "users.xml"), `<yandex><profiles><default></default></profiles><quotas><default></default></quotas>
<users><ato><password>${password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></ato></users></yandex>`);
  writeFileSync(join(dir, "config.xml"), `<yandex><logger><level>warning</level><console>1</console></logger>
<http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><listen_host>127.0.0.1</listen_host>
<path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path><users_config>${dir}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database><mark_cache_size>268435456</mark_cache_size></yandex>`);
  const proc = Bun.spawn(["clickhouse-server", `--config-file=${join(dir, "config.xml")}`], { cwd: dir, stdout: Bun.file(join(dir, "server.log")), stderr: Bun.file(join(dir, "server.log")) });
  const url = `http://127.0.0.1:${http}`;
  const c: ClickHouse = {
    url,
    password,
    async query(sql) {
      const r = await fetch(url, { method: "POST", body: sql, headers: { "x-clickhouse-user": "ato", "x-clickhouse-key": password } });
      const text = await r.text();
      if (!r.ok) throw new Error(`clickhouse: ${text}`);
      return text.trim();
    },
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  try {
    await waitFor("clickhouse-server", async () => (await fetch(`${url}/ping`).then((r) => r.text()).catch(() => "")).startsWith("Ok"), 30_000);
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}
