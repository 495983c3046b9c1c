/**
 * `ato run`: the agent. Configuration from flags, then environment, then --config FILE, then
 * defaults (src/config); `--print-config` shows the result with secrets redacted. SIGINT and
 * SIGTERM detach the program, drain the ring buffer, collect once more (every flow's unrecorded
 * growth, reason shutdown), sign a final checkpoint, close the log and exit 0. A stop that
 * fails (the final checkpoint on a full disk) is one line and its error's exit code.
 */
import { defineCommand } from "citty";
import { AtoError } from "../errors.ts";
import { redact, resolveConfig } from "../config/index.ts";
import { log } from "../agent/log.ts";
import { commandArgs, typedFlags } from "./_args.ts";
import { useAgentJitPolicy, useStopJitPolicy } from "./jit.ts";

export default defineCommand({
  meta: { name: "run", description: "attach the XDP audit program and turn traffic into signed evidence and metrics" },
  args: commandArgs("run"),
  async run({ args, rawArgs }) {
    const cfg = resolveConfig({ flags: typedFlags("run", args, rawArgs), env: process.env });
    if (args["print-config"]) {
      console.log(JSON.stringify(redact(cfg), null, 2));
      return;
    }
    if (cfg.ifaces.length === 0) throw new AtoError("no interface to watch: pass --iface IF (or set XDP_INTERFACE)", "USAGE");

    useAgentJitPolicy(); // before the agent's modules load and run (src/cli/jit.ts)
    const { Agent } = await import("../agent/agent.ts");
    const { Forwarding } = await import("../agent/forwarding.ts");
    const { collectStartGarbage } = await import("../agent/heap.ts");
    // The handlers come before the start: the program is attached (and "attached on" said) in the middle of
    // Agent.start, so a SIGTERM from then on must be a stop (detach, final collection and checkpoint), never
    // the default kill that would leave the program attached and the log without its last checkpoint. One
    // that arrives while the agent starts is taken once the start returns.
    let asked: string | undefined;
    let onSignal = (sig: string) => { asked ??= sig; };
    process.once("SIGINT", () => onSignal("SIGINT"));
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    const agent = Agent.start(cfg);
    let forwarding: InstanceType<typeof Forwarding> | undefined;
    try {
      forwarding = cfg.forward.sinks.length
        ? Forwarding.start({ auditDir: cfg.auditDir, configFile: cfg.forward.configFile!, sinks: cfg.forward.sinks, log, otlpEndpoint: cfg.analytics.otlpEndpoint })
        : undefined;
    } catch (e) {
      await agent.stop(); // attached already: detached, collected and checkpointed before the error is told
      throw e;
    }
    collectStartGarbage(); // the start is over: its garbage now, not in slices over the whole run (src/agent/heap.ts)
    await new Promise<void>((resolve, reject) => {
      const stop = (sig: string) => {
        const flows = agent.knownFlows;
        const jit = useStopJitPolicy(flows); // before the final collection compiles anything (src/cli/jit.ts)
        log(`received ${sig}, stopping`, { known_flows: flows ?? "unknown", stop_jit_policy: jit ?? "unchanged" });
        // The forwarder stops after the final checkpoint, so that its last batch can carry it.
        agent.stop().then(() => forwarding?.stop()).then(resolve, (e: unknown) =>
          reject(e instanceof AtoError ? new AtoError(`stopping after ${sig}: ${e.message}`, e.code, { cause: e, details: e.details }) : e));
      };
      onSignal = stop;
      if (asked) stop(asked);
    });
  },
});
