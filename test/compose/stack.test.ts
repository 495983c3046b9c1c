/**
 * [docker][kernel][hsm] The compose stack built and brought up for real (scripts/compose-test.sh):
 * images built here (no registry), the stack's trust-chain checks, docker stop / restart with a
 * verifiable log, teardown. Needs root, Debian's docker.io and docker-compose, debootstrap and
 * the Debian mirror; takes about six minutes on a 2-core VM, most of it building images.
 */
import { expect, test } from "bun:test";

const root = `${import.meta.dir}/../..`;

test("[docker][kernel][hsm] compose.yml: build, bring up, check the trust chain, stop/restart, tear down", () => {
  const r = Bun.spawnSync(["bash", `${root}/scripts/compose-test.sh`], { stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString() + r.stderr.toString();
  expect({ code: r.exitCode, out: r.exitCode === 0 ? "" : out.slice(-6000) }).toEqual({ code: 0, out: "" });
  expect(out).toMatch(/XDP audit hook attached on eth\d with mode=\w+\n\s+XDP audit hook attached on eth\d with mode=\w+/);
  expect(out).toMatch(/ok: 20 requests via nginx -> apache -> PHP-FPM -> MariaDB/);
  const dash = /(\d+)\/(\d+) dashboard expressions returned data/.exec(out);
  expect(dash && dash[1] === dash[2]).toBe(true);
  expect(out.match(/VERIFIED: every line/g)?.length).toBe(2);
  expect(out).toMatch(/Trusted checkpoint .* consistent/);
  expect(out).toContain("compose-test: all checks passed");
}, 1_800_000);
