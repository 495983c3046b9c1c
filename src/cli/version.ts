/** `ato version`: what this binary is, for bug reports and evidence provenance. (`ato --version` prints the version alone.) */
import { defineCommand } from "citty";
import { commit, moduleForm, VERSION } from "../version.ts";
import { commandArgs, settingsFor } from "./_args.ts";
import { isAtoError } from "../errors.ts";
import { SETTINGS } from "../config/index.ts";

export default defineCommand({
  meta: { name: "version", description: "print version, commit, Bun, libbpf and BPF object hash" },
  args: commandArgs("version"),
  async run({ args, rawArgs }) {
    const s = settingsFor("version", args, rawArgs);
    const { bpfCompatPath, bpfObjectPath, bpfObjectSha256, libbpfVersion } = await import("../kernel/index.ts");
    const compat = bpfCompatPath(s.get("bpfObject"));
    const info = {
      version: VERSION,
      commit: commit(),
      bun: Bun.version,
      modules: await moduleForm(),
      libbpf: libbpfVersion(),
      bpf_object_sha256: bpfObjectSha256(bpfObjectPath(s.get("bpfObject"))),
      ...(compat ? { bpf_compat_sha256: bpfObjectSha256(compat) } : {}),
      bpf_object_runs: await runningObject(SETTINGS.pinDir.default, s.get("bpfObject")),
      verify_hash: (await import("../verify/index.ts")).verifyHashPath(),
      collector_scan: (await import("../collector/index.ts")).scanPath(),
    };
    if (s.get("json")) console.log(JSON.stringify(info));
    else console.log(Object.entries(info).map(([k, v]) => `${k.padEnd(18)} ${v}`).join("\n"));
  },
});

/** Which object this kernel runs, by a trial load (src/kernel/probe.ts); without the privileges, why not known. */
async function runningObject(pinDir: string, given?: string): Promise<string> {
  const { probeObject } = await import("../kernel/probe.ts");
  try {
    const p = probeObject(pinDir, given);
    return p.fallback ? `${p.object}: ${p.fallback}` : p.object;
  } catch (e) {
    if (!isAtoError(e)) throw e;
    return `unknown: ${e.message}`;
  }
}
