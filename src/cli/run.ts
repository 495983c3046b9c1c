/**
 * `ato run`: the agent. Configuration from flags, then environment, then --config FILE, then
 * defaults (src/config); `--print-config` shows the result with secrets redacted. SIGINT and
 * SIGTERM collect once more, sign a final checkpoint, detach and exit 0.
 */
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { redact, resolveConfig, SETTINGS } from "../config/index.ts";
import { log } from "../agent/log.ts";
import { positiveInt, repeated } from "./_args.ts";

// Every flag is a string or boolean without a default: a default here would always win over
// the environment and the config file.
const args = {
  ...Object.fromEntries(Object.values(SETTINGS).filter((s) => s.flag).map((s) => [s.flag!, { type: "string" as const, description: `env ${s.env.join(" or ")}` }])),
  timing: { type: "boolean" as const, description: "enable the timing audit (|t| >= --tscore); env ATO_TIMING_AUDIT" },
  tokens: { type: "boolean" as const, description: "add keyed address tokens (needs ATO_TOKEN_KEY or ATO_TOKEN_KEY_FILE)" },
  seal: { type: "boolean" as const, description: "seal the unmasked fields (needs ATO_SEAL_KEY or ATO_SEAL_KEY_FILE)" },
  config: { type: "string" as const, description: "configuration file (KEY=VALUE or JSON, the environment's names); env ATO_CONFIG" },
  "print-config": { type: "boolean" as const, description: "print the effective configuration, secrets redacted, and exit" },
  witness: { type: "string" as const, description: "URL=VERIFIER_KEY of a witness to send every checkpoint to (repeatable); env ATO_WITNESS (space-separated)" },
  "witness-max-silence": { type: "string" as const, description: "seconds without a witness's cosignature before /readyz reports it (default 300); env ATO_WITNESS_MAX_SILENCE" },
};

export default defineCommand({
  meta: { name: "run", description: "attach the XDP audit program and turn traffic into signed evidence and metrics" },
  args,
  async run({ args: a, rawArgs }) {
    const flags: Record<string, string | boolean | string[] | undefined> = { ...a };
    const ifaces = repeated(rawArgs, "iface");
    flags.iface = ifaces.length ? ifaces.join(",") : undefined;
    for (const b of ["timing", "tokens", "seal"]) if (!rawArgs.some((r) => r === `--${b}` || r === `--no-${b}`)) flags[b] = undefined;
    const cfg = resolveConfig({ flags, env: process.env, file: typeof a.config === "string" ? a.config : undefined });
    if (a["print-config"]) {
      console.log(JSON.stringify(redact(cfg), null, 2));
      return;
    }
    if (cfg.ifaces.length === 0) throw new AtoError("no interface to watch: pass --iface IF (or set XDP_INTERFACE)", "USAGE");

    const { Agent } = await import("../agent/agent.ts");
    const agent = Agent.start(cfg, witnessSettings(rawArgs, typeof a["witness-max-silence"] === "string" ? a["witness-max-silence"] : undefined));
    await new Promise<void>((resolve) => {
      const stop = async (sig: string) => {
        log(`received ${sig}, stopping`);
        await agent.stop();
        resolve();
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
    });
  },
});

/** Witness settings, read here until they join the settings table (src/config). */
function witnessSettings(rawArgs: string[], maxSilence: string | undefined) {
  const fromFlags = repeated(rawArgs, "witness");
  const witnesses = fromFlags.length ? fromFlags : (process.env.ATO_WITNESS ?? "").split(/\s+/).filter(Boolean);
  return { witnesses, maxSilenceSeconds: positiveInt("witness-max-silence", maxSilence ?? process.env.ATO_WITNESS_MAX_SILENCE, 300) };
}
