#!/usr/bin/env bun
/**
 * `ato run` restarted on a reused pinned map (root; after bash scripts/build.sh): `--flows` flows written into the
 * pinned flow map (as a previous run leaves them), then `dist/ato run` on a lab veth with that pin directory: the
 * time from its spawn to "attached on" and to "reusing pinned maps" (after Collector.start(): src/agent/agent.ts),
 * then its stop. `--ato PATH` takes another binary (main's: the build before a change), alternating with this
 * tree's for `--rounds`.
 *
 *   bun scripts/bench-agent/restart-run.ts [--flows 1000000] [--rounds 3] [--ato /work/main/dist/ato]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { XdpAuditor } from "../../src/kernel/index.ts";
import { createToken } from "../../test/support/softhsm.ts";
import { createLab } from "../lab.ts";
import { fillFlows } from "../bench-flows.ts";

const argAt = (name: string) => process.argv.indexOf(name);
const FLOWS = argAt("--flows") > 0 ? Number(process.argv[argAt("--flows") + 1]) : 1_000_000;
const ROUNDS = argAt("--rounds") > 0 ? Number(process.argv[argAt("--rounds") + 1]) : 3;
const dist = `${import.meta.dir}/../../dist`;
const binaries = [...(argAt("--ato") > 0 ? [process.argv[argAt("--ato") + 1]!] : []), `${dist}/ato`];
const maxFlows = FLOWS + 4096; // room for the lab's own packets beside the filled flows

const lab = createLab();
const token = await createToken({ keyType: "ed25519" });
const env = { ...process.env, ...token.env, PKCS11_PIN: token.pin, HSM_KEY_LABEL: token.keyLabel, HSM_TOKEN_LABEL: token.tokenLabel };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const ato of binaries) {
      const pinDir = `/sys/fs/bpf/ato-bench-restart-run-${process.pid}`, auditDir = mkdtempSync("/tmp/ato-bench-restart-run-");
      try {
        const a = XdpAuditor.load({ objectPath: `${dist}/xdp_audit.o`, pinDir, maxFlows });
        await fillFlows(a.mapFd("flows"), FLOWS);
        a.close(); // the pins stay: the map a previous run left
        const t0 = performance.now();
        const p = Bun.spawn(["nsenter", `--net=/run/netns/${lab.server.ns}`, ato, "run", "--iface", lab.server.dev, "--pin-dir", pinDir,
          "--audit-dir", auditDir, "--listen", "127.0.0.1:9400", "--max-flows", String(maxFlows), "--interval-ms", "1000"], { env, stderr: "pipe", stdout: "ignore" });
        let out = "", attachedMs = 0;
        void (async () => { for await (const c of p.stderr) out += new TextDecoder().decode(c); })();
        while (!/reusing pinned maps/.test(out)) {
          if (!attachedMs && /attached on/.test(out)) attachedMs = performance.now() - t0;
          if (p.exitCode !== null) throw new Error(`${ato} run exited ${p.exitCode}: ${out}`);
          await Bun.sleep(2);
        }
        const reusedMs = performance.now() - t0;
        p.kill("SIGTERM");
        await p.exited;
        console.log(`${ato}: ${FLOWS.toLocaleString()} flows: spawn to attached ${attachedMs.toFixed(0)} ms, to "reusing pinned maps" ${reusedMs.toFixed(0)} ms; load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
      } finally {
        rmSync(pinDir, { recursive: true, force: true });
        Bun.spawnSync(["chattr", "-R", "-a", auditDir]);
        rmSync(auditDir, { recursive: true, force: true });
      }
    }
  }
} finally {
  lab.destroy();
  await token.cleanup();
}
