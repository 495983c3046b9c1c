/** `ato version`: what this binary is, for bug reports and evidence provenance. */
import { defineCommand } from "citty";
import { commit, VERSION } from "../version.ts";

export default defineCommand({
  meta: { name: "version", description: "print version, commit, Bun, libbpf and BPF object hash" },
  args: {
    json: { type: "boolean", description: "print JSON" },
    "bpf-object": { type: "string", description: "BPF object to describe instead of the embedded one" },
  },
  async run({ args }) {
    const { libbpfVersion } = await import("../../ffi/libbpf.ts");
    const { bpfObjectPath, bpfObjectSha256 } = await import("../kernel/object.ts");
    const info = {
      version: VERSION,
      commit: commit(),
      bun: Bun.version,
      libbpf: libbpfVersion(),
      bpf_object_sha256: bpfObjectSha256(bpfObjectPath(args["bpf-object"])),
    };
    if (args.json) console.log(JSON.stringify(info));
    else console.log(Object.entries(info).map(([k, v]) => `${k.padEnd(18)} ${v}`).join("\n"));
  },
});
