/** `ato version`: what this binary is, for bug reports and evidence provenance. (`ato --version` prints the version alone.) */
import { defineCommand } from "citty";
import { commit, VERSION } from "../version.ts";
import { commandArgs, settingsFor } from "./_args.ts";

export default defineCommand({
  meta: { name: "version", description: "print version, commit, Bun, libbpf and BPF object hash" },
  args: commandArgs("version"),
  async run({ args, rawArgs }) {
    const s = settingsFor("version", args, rawArgs);
    const { bpfObjectPath, bpfObjectSha256, libbpfVersion } = await import("../kernel/index.ts");
    const info = {
      version: VERSION,
      commit: commit(),
      bun: Bun.version,
      libbpf: libbpfVersion(),
      bpf_object_sha256: bpfObjectSha256(bpfObjectPath(s.get("bpfObject"))),
    };
    if (s.get("json")) console.log(JSON.stringify(info));
    else console.log(Object.entries(info).map(([k, v]) => `${k.padEnd(18)} ${v}`).join("\n"));
  },
});
