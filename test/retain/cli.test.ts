/** `ato retire` as an operator runs it: --dry-run names what would go and which sink holds the rest; a real run retires with the HSM's key. */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cursorPath, saveCursor } from "../../src/forward/cursor.ts";
import { listLogFiles } from "../../src/log/index.ts";
import { ATO_MAIN, closeLogs, hsm, removeDir, runVerify, tempDir, type Hsm } from "../log/_helpers.ts";
import { records, smallLog } from "./_log.ts";

let h: Hsm;
const dirs: string[] = [];
beforeAll(async () => { h = await hsm(); });
afterAll(() => h.cleanup());
afterEach(() => {
  closeLogs();
  dirs.splice(0).forEach(removeDir);
});

function retire(args: string[]) {
  const env = { ...process.env, ...h.token.env, PKCS11_PIN: h.token.pin, HSM_TOKEN_LABEL: h.token.tokenLabel, HSM_KEY_LABEL: h.token.keyLabel, PKCS11_MODULE_PATH: h.token.modulePath };
  const r = Bun.spawnSync(["bun", ATO_MAIN, "retire", ...args], { stdout: "pipe", stderr: "pipe", env });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("ato retire --dry-run says which sink keeps a segment and deletes nothing; without it, it retires what may go and verify names it", () => {
  const d = tempDir("ato-retire-cli-");
  dirs.push(d);
  const t = smallLog(d, h); // records dated 2026-01-01: long past a 1 s rule
  records(t, 50);
  const st = t.log.status();
  t.log.close();
  const segs = listLogFiles(d).rotated;
  expect(segs.length).toBe(2);
  const state = join(d, "fwd");
  const cfg = join(d, "forward.json");
  writeFileSync(cfg, JSON.stringify({ state_dir: state, sinks: [{ name: "fleet", type: "jetstream" }, { name: "siem", type: "hec" }] }));
  const lastOf1 = Number(/seq 0–(\d+)/.exec(retire(["--audit-dir", d, "--retention", "internal=1s", "--dry-run"]).stdout)![1]);
  saveCursor(cursorPath(state, "fleet"), { log_id: st.logId, origin: st.origin, segment: 3, offset: 0, seq: st.treeSize });
  saveCursor(cursorPath(state, "siem"), { log_id: st.logId, origin: st.origin, segment: 2, offset: 0, seq: lastOf1 + 1 });

  const dry = retire(["--audit-dir", d, "--retention", "internal=1s", "--forward-config", cfg, "--dry-run"]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain("signed_evidence.000001.log  segment 1");
  expect(dry.stdout).toMatch(/segment 1 .*would retire by internal=1s/);
  expect(dry.stdout).toMatch(/segment 2 .*kept: sink siem has acknowledged up to seq \d+, not past seq \d+/);
  expect(listLogFiles(d).rotated.length).toBe(2);

  const run = retire(["--audit-dir", d, "--retention", "internal=1s", "--forward-config", cfg, "--json"]);
  expect(run.code).toBe(0);
  const out = JSON.parse(run.stdout);
  expect(out.require_forward).toBe(true);
  expect(out.retired.map((r: any) => r.segment)).toEqual([1]);
  expect(listLogFiles(d).rotated.map((r) => r.segment)).toEqual([2]);
  const v = runVerify([d, "--pubkey", h.pubkeyPath]);
  expect(v.code).toBe(0);
  expect(v.json.retired).toMatchObject([{ segment: 1, status: "retired", rule: "internal=1s" }]);

  // Forwarding not required, by setting: segment 2 goes too.
  const relaxed = retire(["--audit-dir", d, "--retention", "internal=1s", "--forward-config", cfg, "--no-retention-require-forward"]);
  expect(relaxed.code).toBe(0);
  expect(listLogFiles(d).rotated).toEqual([]);
  expect(runVerify([d, "--pubkey", h.pubkeyPath]).json.retired.map((r: any) => r.segment)).toEqual([1, 2]);
});

test("ato retire refuses a rule it cannot read, naming it", () => {
  const r = retire(["--audit-dir", "/nonexistent-ato-retire", "--retention", "internal=30days"]);
  expect(r.code).toBe(78);
  expect(r.stderr).toContain("--retention must be CLASS=DURATION");
});
