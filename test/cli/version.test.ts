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
