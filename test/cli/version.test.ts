/**
 * `ato version` says which XDP object this kernel runs by a trial load; where that cannot be done (an image
 * build, whose /sys/fs/bpf is read-only) it says why and still prints everything else, exit 0 (needs root).
 */
import { expect, test } from "bun:test";

const ATO = `${import.meta.dir}/../../dist/ato`;

test("[kernel] on a read-only bpffs the running object is unknown, with the reason, and version still succeeds", () => {
  // A private mount namespace: the host's bpffs stays writable for everyone else.
  const script = 'mount --bind /sys/fs/bpf /sys/fs/bpf && mount -o remount,ro,bind /sys/fs/bpf && exec "$0" version';
  const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, ATO], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  const out = r.stdout.toString();
  expect(out).toMatch(/^bpf_object_sha256 +[0-9a-f]{64}$/m);
  expect(out).toMatch(/^bpf_object_runs +unknown: .*read-only file system/m);
});

test("the built binary carries its modules as bytecode (scripts/build.sh --bytecode), and from source it says so", () => {
  // Without --bytecode every start parses the bundle again: `ato run` reached "attached" in ~190-240 ms instead of ~100-130.
  const built = Bun.spawnSync([ATO, "version"], { stdout: "pipe", stderr: "pipe" });
  expect(built.exitCode).toBe(0);
  expect(built.stdout.toString()).toMatch(/^modules +bytecode$/m);
  const source = Bun.spawnSync(["bun", `${import.meta.dir}/../../src/main.ts`, "version"], { stdout: "pipe", stderr: "pipe" });
  expect(source.exitCode).toBe(0);
  expect(source.stdout.toString()).toMatch(/^modules +not compiled$/m);
});
