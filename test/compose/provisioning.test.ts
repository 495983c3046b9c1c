/**
 * The compose files and their provisioning, without Docker: the dashboard and data source agree
 * with compose.yml, .env.example documents every variable compose.yml reads, compose.yml keeps
 * the upstream images and least privilege. (test/compose/stack.test.ts brings the stack up.)
 */
import { expect, test } from "bun:test";
import { checkProvisioning } from "../../scripts/compose/dashboard.ts";
import { envNames, readSettings, SETTINGS, type SettingKey } from "../../src/config/index.ts";

const root = `${import.meta.dir}/../..`;
const composeText = await Bun.file(`${root}/compose.yml`).text();
const compose = Bun.YAML.parse(composeText) as { services: Record<string, any> };

test("Grafana provisioning matches compose.yml; the main panel is the verified/unverified pie chart", async () => {
  const p = await checkProvisioning();
  expect(p.prometheusUrl).toBe("http://127.0.0.1:9090");
  expect(p.rateInterval).toBe("60s");
  const exprs = p.expressions.map((e) => e.expr).join("\n");
  for (const m of ["ato_verified_flows_total", "ato_unverified_flows_total", "xdp_audit_events_total", "xdp_audit_leak_flags_total",
    "xdp_audit_last_tscore", "ato_signing_duration_seconds_bucket", "ato_checkpoint_age_seconds", "ato_packets_total"]) {
    expect(exprs).toContain(m);
  }
});

test("every dashboard metric is one the agent registers (src/metrics/metrics.ts, and _live.ts for the scrape-time series)", async () => {
  const source = (await Promise.all(["metrics.ts", "_live.ts"].map((f) => Bun.file(`${root}/src/metrics/${f}`).text()))).join("\n");
  const registered = new Set([...source.matchAll(/name: "([a-z_]+)"/g)].map((m) => m[1]));
  const { expressions } = await checkProvisioning();
  const used = new Set(expressions.flatMap((e) => [...e.expr.matchAll(/\b((?:ato|xdp_audit)_[a-z_]+)/g)].map((m) => m[1])));
  const base = (n: string) => n.replace(/_(bucket|sum|count)$/, "");
  expect([...used].filter((n) => !registered.has(n) && !registered.has(base(n)))).toEqual([]);
});

test(".env.example names every variable compose.yml reads, and each REQUIRED one is required there", async () => {
  const example = await Bun.file(`${root}/.env.example`).text();
  const documented = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const code = composeText.replace(/^\s*#.*$/gm, "");
  const used = [...code.matchAll(/\$\{([A-Z0-9_]+)(:?[?-])?/g)];
  expect([...new Set(used.map((m) => m[1]))].filter((v) => !documented.has(v))).toEqual([]);
  const required = new Set(used.filter((m) => m[2] === ":?").map((m) => m[1]));
  const markedRequired = new Set([...example.matchAll(/# REQUIRED\.[^\n]*\n(?:#[^\n]*\n)*([A-Z0-9_]+)=/g)].map((m) => m[1]));
  expect([...required].sort()).toEqual([...markedRequired].sort());
  // The example never carries a secret: every REQUIRED value is empty.
  for (const v of required) expect(example).toMatch(new RegExp(`^${v}=$`, "m"));
});

test("every variable the agent's container gets is a setting of src/config's table; .env.example's values for them are valid", async () => {
  const known = new Set(envNames());
  const agentEnv = Object.keys(compose.services["xdp-auditor"].environment);
  expect(agentEnv.filter((name) => !known.has(name))).toEqual([]);
  const example = await Bun.file(`${root}/.env.example`).text();
  const values = [...example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].filter((m) => known.has(m[1]!) && m[2] !== "");
  expect(values.length).toBeGreaterThan(4);
  // XDP_INTERFACE=auto is the entrypoint's word for "every Ethernet interface"; it is a valid name list too.
  for (const [, name, value] of values) expect(() => readSettings({ env: { [name!]: value } }).get(settingKeyOf(name!))).not.toThrow();
  // Where .env.example and compose.yml both give a default, they agree.
  const both = values.map(([, name, value]) => ({ name, value, fallback: new RegExp(`\\$\\{${name}:-([^}]*)\\}`).exec(composeText)?.[1] })).filter((v) => v.fallback !== undefined);
  expect(both.length).toBeGreaterThan(4);
  for (const { name, value, fallback } of both) expect({ name, value }).toEqual({ name, value: fallback });
});

/** The table key whose environment names include `name`. */
function settingKeyOf(name: string): SettingKey {
  return (Object.keys(SETTINGS) as SettingKey[]).find((k) => (SETTINGS[k].env as readonly string[]).includes(name))!;
}

test("compose.yml keeps the upstream images, builds ato, and grants no privileged container", () => {
  const images = Object.fromEntries(Object.entries(compose.services).map(([name, s]) => [name, s.image]));
  expect(images).toMatchObject({
    enclave: expect.stringMatching(/^enclavenetworks\/enclave:/), prometheus: expect.stringMatching(/^prom\/prometheus:/),
    grafana: expect.stringMatching(/^grafana\/grafana:/), nginx: expect.stringMatching(/^nginx:/), apache: expect.stringMatching(/^httpd:/),
    drupal: expect.stringMatching(/^drupal:/), db: expect.stringMatching(/^mariadb:/),
  });
  expect(compose.services["xdp-auditor"].build.dockerfile).toBe("deploy/ato/Dockerfile");
  for (const [name, s] of Object.entries(compose.services)) {
    expect({ name, privileged: s.privileged ?? false }).toEqual({ name, privileged: false });
    expect({ name, healthcheck: Boolean(s.healthcheck?.test) }).toEqual({ name, healthcheck: true });
    // Only the fabric keeps Docker's default capabilities (its vendor's documented set).
    if (name !== "enclave") expect({ name, cap_drop: s.cap_drop }).toEqual({ name, cap_drop: ["ALL"] });
  }
  expect(compose.services["xdp-auditor"].cap_add.sort()).toEqual(["LINUX_IMMUTABLE", "NET_ADMIN", "SYS_ADMIN"]);
  for (const s of ["xdp-auditor", "prometheus", "grafana", "nginx"]) expect(compose.services[s].network_mode).toBe("service:enclave");
});
