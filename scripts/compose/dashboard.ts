/**
 * Checks the Grafana provisioning against compose.yml and, given a way into the stack, runs every
 * dashboard query against its Prometheus: Grafana itself cannot be pulled here, so this is what
 * stands in for "the dashboard shows data".
 *
 *   bun scripts/compose/dashboard.ts check
 *       validate: the data source points where compose.yml's Prometheus listens, the dashboard
 *       provider reads the directory compose.yml mounts, the dashboard parses, every panel uses
 *       the provisioned data source, the main panel is the verified/unverified pie chart;
 *       prints every PromQL expression.
 *   bun scripts/compose/dashboard.ts query [--wait SECONDS] -- docker exec CONTAINER
 *       check, then run each expression through `<command> wget -qO- <Prometheus URL>` until
 *       all return data (or the wait ends); exit 1 naming each expression that returned none.
 *
 * Grafana's $__rate_interval is replaced as Grafana computes it for a dashboard this short:
 * four times the data source's timeInterval (the scrape interval).
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const grafana = join(root, "deploy/grafana");
const TITLE = "ATO Signature Verification";
const PIE = ["ato_verified_flows_total", "ato_unverified_flows_total"];

export interface Provisioning {
  datasourceUid: string;
  prometheusUrl: string;
  rateInterval: string;
  expressions: { panel: string; expr: string }[];
}

const yaml = async (path: string): Promise<any> => Bun.YAML.parse(await Bun.file(path).text());

function fail(msg: string): never {
  throw new Error(msg);
}

function seconds(d: string): number {
  const m = /^(\d+)(s|m)$/.exec(d) ?? fail(`timeInterval ${JSON.stringify(d)}: expected like 15s or 1m`);
  return Number(m[1]) * (m[2] === "m" ? 60 : 1);
}

/** Validates the provisioning files against compose.yml; returns what the queries need. */
export async function checkProvisioning(): Promise<Provisioning> {
  const compose = await yaml(join(root, "compose.yml"));
  const listen = (compose.services.prometheus.command as string[]).find((a) => a.startsWith("--web.listen-address="));
  const promAddr = listen?.split("=")[1] ?? fail("compose.yml: prometheus has no --web.listen-address");
  const mounts = compose.services.grafana.volumes as string[];
  const dashMount = mounts.find((v) => v.startsWith("./deploy/grafana/dashboards:"))?.split(":")[1]
    ?? fail("compose.yml: grafana does not mount ./deploy/grafana/dashboards");
  if (!mounts.some((v) => v.startsWith("./deploy/grafana/provisioning:/etc/grafana/provisioning"))) {
    fail("compose.yml: grafana does not mount ./deploy/grafana/provisioning at /etc/grafana/provisioning");
  }

  const dsFiles = readdirSync(join(grafana, "provisioning/datasources"));
  const sources = (await Promise.all(dsFiles.map((f) => yaml(join(grafana, "provisioning/datasources", f))))).flatMap((d) => d.datasources ?? []);
  const prom = sources.filter((s) => s.type === "prometheus");
  if (prom.length !== 1) fail(`expected one prometheus data source, found ${prom.length}`);
  const ds = prom[0];
  if (ds.url !== `http://${promAddr}`) fail(`data source url ${ds.url}: Prometheus listens on ${promAddr} (compose.yml)`);
  const rateInterval = `${4 * seconds(ds.jsonData?.timeInterval ?? "15s")}s`;

  const providers = (await yaml(join(grafana, "provisioning/dashboards/ato.yml"))).providers ?? [];
  if (!providers.some((p: any) => p.type === "file" && p.options?.path === dashMount)) {
    fail(`no file dashboard provider reads ${dashMount}, where compose.yml mounts the dashboards`);
  }

  const expressions: Provisioning["expressions"] = [];
  const dashFiles = readdirSync(join(grafana, "dashboards")).filter((f) => f.endsWith(".json"));
  for (const f of dashFiles) {
    const d = JSON.parse(await Bun.file(join(grafana, "dashboards", f)).text());
    const ids = new Set<number>();
    for (const p of d.panels ?? []) {
      const where = `${f}: panel ${JSON.stringify(p.title)}`;
      if (ids.has(p.id)) fail(`${where}: id ${p.id} used twice`);
      ids.add(p.id);
      for (const t of [p, ...(p.targets ?? [])]) {
        if (t.datasource?.uid !== ds.uid) fail(`${where}: data source ${JSON.stringify(t.datasource)}, not the provisioned uid ${ds.uid}`);
      }
      if (!p.targets?.length) fail(`${where}: no query`);
      for (const t of p.targets) expressions.push({ panel: p.title, expr: t.expr ?? fail(`${where}: target ${t.refId} has no expr`) });
    }
    if (d.title === TITLE) {
      const main = (d.panels ?? [])[0];
      const exprs = (main?.targets ?? []).map((t: any) => t.expr).join(" ");
      if (main?.type !== "piechart" || !PIE.every((m) => exprs.includes(m))) {
        fail(`${f}: the first panel must be the pie chart of ${PIE.join(" vs ")}`);
      }
    }
  }
  if (!dashFiles.length) fail("no dashboard JSON under deploy/grafana/dashboards");
  if (!expressions.length) fail("the dashboards hold no query");
  return { datasourceUid: ds.uid, prometheusUrl: ds.url, rateInterval, expressions };
}

/** One instant query through `via` (a command prefix that reaches the Prometheus namespace). */
function query(via: string[], url: string, expr: string): { ok: boolean; series: number; sample?: string; error?: string } {
  const r = Bun.spawnSync([...via, "wget", "-qO-", `${url}/api/v1/query?query=${encodeURIComponent(expr)}`], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return { ok: false, series: 0, error: `exit ${r.exitCode}: ${r.stderr.toString().trim()}` };
  const body = JSON.parse(r.stdout.toString());
  if (body.status !== "success") return { ok: false, series: 0, error: `${body.errorType}: ${body.error}` };
  const result = body.data.result as { metric: Record<string, string>; value: [number, string] }[];
  return { ok: result.length > 0, series: result.length, sample: result[0]?.value[1] };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const p = await checkProvisioning();
  if (cmd === "check") {
    console.log(`provisioning ok: data source ${p.datasourceUid} -> ${p.prometheusUrl}, ${p.expressions.length} expressions`);
    for (const e of p.expressions) console.log(`  ${e.panel}: ${e.expr}`);
    return 0;
  }
  if (cmd !== "query") {
    console.error("usage: compose-dashboard.ts check | query [--wait SECONDS] -- COMMAND…");
    return 64;
  }
  const sep = rest.indexOf("--");
  const via = sep >= 0 ? rest.slice(sep + 1) : [];
  if (!via.length) {
    console.error("compose-dashboard: query needs `-- COMMAND…` that reaches Prometheus (e.g. -- docker exec CONTAINER)");
    return 64;
  }
  const waitAt = rest.indexOf("--wait");
  const deadline = Date.now() + 1000 * (waitAt >= 0 && waitAt < (sep < 0 ? rest.length : sep) ? Number(rest[waitAt + 1]) : 0);
  const exprs = p.expressions.map((e) => ({ ...e, promql: e.expr.replaceAll("$__rate_interval", p.rateInterval) }));
  for (;;) {
    const results = exprs.map((e) => ({ e, r: query(via, p.prometheusUrl, e.promql) }));
    const empty = results.filter((x) => !x.r.ok);
    if (!empty.length || Date.now() >= deadline) {
      for (const { e, r } of results) {
        console.log(`${r.ok ? "data" : "NONE"}  ${r.series} series, first ${r.sample ?? "-"}  [${e.panel}] ${e.promql}${r.error ? `  (${r.error})` : ""}`);
      }
      console.log(`${results.length - empty.length}/${results.length} dashboard expressions returned data`);
      return empty.length ? 1 : 0;
    }
    await Bun.sleep(3000);
  }
}

if (import.meta.main) {
  main(Bun.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`compose-dashboard: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
