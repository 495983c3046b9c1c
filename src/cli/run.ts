/** `ato run`: the agent. Load and attach, watch, and on SIGINT/SIGTERM detach and exit 0. */
import { defineCommand } from "citty";
import { dirname } from "node:path";
import { AtoError } from "../errors.ts";
import { KernelPlane } from "../agent/kernel.ts";
import { log } from "../agent/log.ts";
import { bpfObjectPath } from "../kernel/object.ts";
import { tScore, slotToText, type AuditEvent } from "../kernel/index.ts";
import { oneOf, positiveInt, repeated } from "./_args.ts";
import { DEFAULT_PIN_DIR } from "./flows.ts";

export default defineCommand({
  meta: { name: "run", description: "attach the XDP audit program and turn traffic into evidence" },
  args: {
    iface: { type: "string", description: "interface to watch (repeatable, or comma-separated); env XDP_INTERFACE" },
    mode: { type: "string", description: "auto | drv | skb | hw; env XDP_MODE", default: "" },
    "pin-dir": { type: "string", description: `bpffs directory for pinned maps (default ${DEFAULT_PIN_DIR}; env FLOW_MAP_PATH's directory)` },
    "bpf-object": { type: "string", description: "XDP object to load instead of the embedded one" },
    "max-flows": { type: "string", description: "flow map capacity", default: "65536" },
    "spike-threshold": { type: "string", description: "packets per flow per window that make a spike (0 = off)", default: "0" },
    "spike-window-ms": { type: "string", description: "spike-guard window", default: "1000" },
    timing: { type: "boolean", description: "enable the timing audit (|t| >= --tscore)" },
    "timing-min-samples": { type: "string", description: "gaps needed before the timing audit flags", default: "32" },
    tscore: { type: "string", description: "timing-audit threshold |t|", default: "4" },
  },
  async run({ args, rawArgs }) {
    const ifaces = repeated(rawArgs, "iface");
    if (ifaces.length === 0 && process.env.XDP_INTERFACE) ifaces.push(...process.env.XDP_INTERFACE.split(","));
    if (ifaces.length === 0) throw new AtoError("no interface to watch: pass --iface IF (or set XDP_INTERFACE)", "USAGE");
    const mode = oneOf("mode", args.mode || process.env.XDP_MODE, ["auto", "drv", "skb", "hw"] as const, "auto");
    const pinDir = args["pin-dir"] || process.env.ATO_PIN_DIR || (process.env.FLOW_MAP_PATH ? dirname(process.env.FLOW_MAP_PATH) : DEFAULT_PIN_DIR);
    const spikeThreshold = Number(args["spike-threshold"]);
    if (!Number.isInteger(spikeThreshold) || spikeThreshold < 0) throw new AtoError(`--spike-threshold must be a whole number >= 0; got '${args["spike-threshold"]}'`, "USAGE");

    const plane = KernelPlane.start({
      ifaces, mode, pinDir,
      objectPath: bpfObjectPath(args["bpf-object"]),
      maxFlows: positiveInt("max-flows", args["max-flows"], 65536),
      config: {
        spikeThreshold,
        spikeWindowNs: BigInt(positiveInt("spike-window-ms", args["spike-window-ms"], 1000)) * 1_000_000n,
        timingEnabled: Boolean(args.timing),
        timingMinSamples: positiveInt("timing-min-samples", args["timing-min-samples"], 32),
        tscoreThreshold: positiveInt("tscore", args.tscore, 4),
      },
    }, reportEvent);

    await new Promise<void>((resolve) => {
      const timer = setInterval(() => plane.drainEvents(), 100);
      const stop = (sig: string) => {
        clearInterval(timer);
        log(`received ${sig}, stopping`);
        plane.stop();
        resolve();
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
    return 0;
  },
});

function reportEvent(e: AuditEvent): void {
  const flow = e.kind === "overflow" ? undefined
    : `${slotToText(e.key.src, e.key.family)}:${e.key.sport}->${slotToText(e.key.dst, e.key.family)}:${e.key.dport}/${e.key.proto}`;
  log(`event ${e.kind}`, {
    flow, cpu: e.cpu, value: e.value,
    tscore: e.kind === "timing" ? tScore(e).toFixed(2) : undefined,
  });
}
