/** `ato run --print-config`: the effective configuration, and every secret the table gives `run` shown only as (set) / (unset). */
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { settingsOf } from "../../src/config/index.ts";
import { ato } from "./_run.ts";

test("every secret of ato run, set to a value of its own, is printed as (set) and its value appears nowhere", () => {
  const secrets = settingsOf("run").filter(([, s]) => s.secret);
  expect(secrets.length).toBeGreaterThanOrEqual(3);
  const env = Object.fromEntries(secrets.map(([, s]) => [s.env[0]!, randomBytes(32).toString("hex")]));
  const r = ato(["run", "--print-config", "--iface", "lo", "--max-flows", "4096"], env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  for (const value of Object.values(env)) expect(r.stdout).not.toContain(value);
  expect(r.stdout.match(/"\(set\)"/g)).toHaveLength(secrets.length);
  const cfg = JSON.parse(r.stdout);
  expect([cfg.ifaces, cfg.maxFlows, cfg.features.tokens, cfg.features.sealing]).toEqual([["lo"], 4096, true, true]);

  const unset = ato(["run", "--print-config"], Object.fromEntries(secrets.map(([, s]) => [s.env[0]!, undefined])));
  expect(unset.stdout.match(/"\(unset\)"/g)).toHaveLength(secrets.length);
});
