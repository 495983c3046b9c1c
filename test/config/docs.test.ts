/**
 * The settings table is the whole story: docs/CONFIGURATION.md is generated from it and current, every
 * environment name the code mentions is in it, every setting has a meaning and belongs to a command, and the
 * secrets have no flag.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { configurationDoc, envNames, SETTINGS, type Setting } from "../../src/config/index.ts";

const root = resolve(import.meta.dir, "../..");
const all = Object.entries(SETTINGS) as [string, Setting][];

describe("the settings table", () => {
  test("docs/CONFIGURATION.md is the table as generated (run bun scripts/config-docs.ts after a change)", () => {
    expect(readFileSync(join(root, "docs/CONFIGURATION.md"), "utf8")).toBe(configurationDoc());
  });

  test("every setting has a one-line meaning, a parser or a secret reader, a command, and a name to set it by", () => {
    for (const [key, s] of all) {
      expect({ key, ok: s.description.length > 10 && !s.description.includes("\n") }).toEqual({ key, ok: true });
      expect({ key, ok: Boolean(s.parse) !== Boolean(s.secret) }).toEqual({ key, ok: true });
      expect({ key, commands: s.commands.length > 0 }).toEqual({ key, commands: true });
      expect({ key, named: Boolean(s.flag) || s.env.length > 0 }).toEqual({ key, named: true });
    }
  });

  test("secrets have no flag and exactly one variable (and its _FILE)", () => {
    for (const [key, s] of all.filter(([, s]) => s.secret)) expect({ key, flag: s.flag, env: s.env.length }).toEqual({ key, flag: undefined, env: 1 });
  });

  test("a default given as a value parses back to itself: no default the parser would refuse", () => {
    for (const [key, s] of all) {
      if (s.default === undefined || !s.parse) continue;
      const text = Array.isArray(s.default) ? s.default.join(",") : String(s.default);
      if (text === "") continue;
      expect({ key, value: s.parse(text, key) }).toEqual({ key, value: s.default });
    }
  });

  test("every environment name in the code of src/ and ffi/ is a setting of the table", () => {
    const files = ["src", "ffi"].flatMap((d) =>
      readdirSync(join(root, d), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => join(e.parentPath, e.name)),
    );
    const known = new Set(envNames());
    // Not settings: a build-time constant (scripts/build.sh), the XDP program's own names, the log type
    // name Google SecOps ingestion files ato's events under, the mark ato run's re-execution sets beside
    // BUN_GC_TIMER_DISABLE and its second start removes (src/cli/gc-timer.ts).
    const notSettings = new Set(["ATO_COMMIT", "ATO_EVIDENCE", "ATO_GC_TIMER_REEXEC", "ATO_FAMILY_IPV4", "ATO_FAMILY_IPV6", "XDP_FLAGS", "XDP_FLAGS_REPLACE", "XDP_MODES"]);
    const seen = new Set(files.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/\b(?:ATO|PKCS11|HSM|XDP|FLOW_MAP|SOFTHSM2)_[A-Z0-9_]+\b/g)].map((m) => m[0])));
    expect(seen.size).toBeGreaterThan(20);
    expect([...seen].filter((n) => !known.has(n) && !notSettings.has(n))).toEqual([]);
  });
});
