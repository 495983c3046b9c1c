/**
 * `ato run` refuses a bad start with one clear line and its exit code, before anything is
 * attached: bad configuration, missing token, wrong PIN, port in use. No secret is echoed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { agentSetup, atoIn } from "../support/agent.ts";
import { uniquePinDir } from "../support/bpf.ts";

let setup: Awaited<ReturnType<typeof agentSetup>>;
const pinDir = uniquePinDir("errors"); // never created: every case fails before loading

beforeAll(async () => { setup = await agentSetup("errors"); });
afterAll(async () => { await setup?.cleanup(); });

const run = (args: string[], env: Record<string, string> = setup.env) =>
  atoIn(null, ["run", "--iface", "lo", "--pin-dir", pinDir, ...setup.args, ...args], env);

describe("[hsm] ato run refuses a bad start", () => {
  test("an invalid setting names the setting, its source and what is allowed", () => {
    const r = run([], { ...setup.env, XDP_MODE: "fast" });
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("XDP_MODE must be one of auto, drv, skb, hw; got 'fast' (from environment)");
  });

  test("a wrong PIN names the token, never the PIN", () => {
    const wrong = "not-the-pin-42";
    const r = run([], { ...setup.env, PKCS11_PIN: wrong });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/wrong PIN for token/);
    expect(r.stderr + r.stdout).not.toContain(wrong);
    expect(r.stderr + r.stdout).not.toContain(setup.token.pin);
  });

  test("a missing token names the label", () => {
    const r = run([], { ...setup.env, HSM_TOKEN_LABEL: "no-such-token" });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("no-such-token");
  });

  test("a port in use is named", async () => {
    const busy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    try {
      const r = run(["--listen", `127.0.0.1:${busy.port}`]);
      expect(r.code).toBe(75);
      expect(r.stderr).toContain(`port ${busy.port} on 127.0.0.1 is already in use`);
    } finally {
      busy.stop(true);
    }
  });

  test("--print-config shows the effective configuration with secrets redacted", () => {
    const r = run(["--print-config"]);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.stdout);
    expect(cfg.ifaces).toEqual(["lo"]);
    expect(r.stdout).not.toContain(setup.token.pin);
    expect(JSON.stringify(cfg.pkcs11)).toContain("(set)");
  });
});
