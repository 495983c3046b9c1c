/**
 * Retention by class on a real signed log: what is retired, what is kept and why, the retire
 * record before the deletion, and what `ato verify` says of what remains.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { saveCursor, cursorPath } from "../../src/forward/cursor.ts";
import { listLogFiles } from "../../src/log/index.ts";
import { Retainer, parseRules, type RetainPolicy } from "../../src/retain/index.ts";
import { parseVerifierKey } from "../../src/witness/index.ts";
import { closeLogs, hsm, removeDir, runVerify, tempDir, type Hsm } from "../log/_helpers.ts";
import { DAY, T0, cosignNow, records, smallLog, witnessKey } from "./_log.ts";

let h: Hsm;
const dirs: string[] = [];
beforeAll(async () => { h = await hsm(); });
afterAll(() => h.cleanup());
afterEach(() => {
  closeLogs();
  dirs.splice(0).forEach(removeDir);
});

function dir(): string {
  const d = tempDir("ato-retain-");
  dirs.push(d);
  return d;
}

const policy = (o: Partial<RetainPolicy> = {}): RetainPolicy => ({ rules: parseRules(["internal=30d", "restricted=365d"]), sinks: [], requireSinks: false, witnesses: [], requireWitness: false, ...o });
const rotated = (d: string) => listLogFiles(d).rotated.map((r) => r.segment);
const logFiles = (d: string) => { const f = listLogFiles(d); return [...f.rotated.map((r) => r.path), ...(f.active ? [f.active] : [])]; };
const retireLines = (d: string) => logFiles(d).flatMap((p) => readFileSync(p, "utf8").split("\n")).filter((l) => l.includes('"kind":"retire"'));

describe("retention by class", () => {
  test("segments past their retention go, each after its retire record is signed; ato verify exits 0 and names them", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 50); // segments 1 and 2 rotate (20 lines each), 3 is active
    expect(rotated(d)).toEqual([1, 2]);
    t.clock.now = T0 + 31 * DAY;
    const r = new Retainer(d, policy());
    const before = await r.plan(new Date(t.clock.now));
    expect(before.decisions.map((x) => x.action)).toEqual(["retire", "retire"]);
    let seenBeforeDelete: string[] = [];
    const pass = await r.pass(t.log, new Date(t.clock.now), { beforeDelete: () => { seenBeforeDelete = retireLines(d); } });
    expect(pass.retired.map((x) => x.segment)).toEqual([1, 2]);
    expect(seenBeforeDelete.length).toBe(2); // recorded first
    expect(rotated(d)).toEqual([]);
    const rec = JSON.parse(retireLines(d)[0]!);
    const seg1 = before.decisions[0]!.summary;
    expect(rec.data).toMatchObject({ segment: 1, file: "signed_evidence.000001.log", first_seq: 0, last_seq: seg1.lastSeq, tree_size: seg1.lastSeq + 1, bytes: seg1.bytes, rule: "internal=30d", class: "internal", sinks: null, witness: null, start_frontier: [] });
    expect(rec.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    records(t, 3);
    t.log.close();
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.result).toBe("verified");
    expect(v.json.retired.map((x: any) => [x.segment, x.status, x.rule])).toEqual([[1, "retired", "internal=30d"], [2, "retired", "internal=30d"]]);
    expect(v.json.total.start_checked).toBe(true);
    expect(v.json.total.tree_size).toBeGreaterThan(50);
    const text = runVerify([d, "--pubkey", h.pubkeyPath], { json: false });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Retired: signed_evidence.000001.log (segment 1, seq 0–${seg1.lastSeq}) by rule internal=30d`);
    expect(text.stdout).toContain("retired by retention, not lost");
  });

  test("the longest retention of the classes in a segment governs; a class with no rule is never retired", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 15);
    records(t, 1, "restricted"); // in segment 1
    records(t, 24); // segment 2: internal only
    records(t, 1, "secret"); // segment 3: no rule
    records(t, 30);
    expect(rotated(d).length).toBeGreaterThanOrEqual(3);
    t.clock.now = T0 + 31 * DAY;
    const p = await new Retainer(d, policy()).plan(new Date(t.clock.now));
    const by = new Map(p.decisions.map((x) => [x.summary.segment, x]));
    expect(by.get(1)!.action).toBe("keep");
    expect((by.get(1) as any).reasons.join()).toContain("class restricted is kept until 2027-01-01");
    expect(by.get(2)!.action).toBe("retire");
    expect(by.get(3)!.action).toBe("keep");
    expect((by.get(3) as any).reasons).toContain("class secret has no retention rule (kept forever)");
    // A year later segment 1 goes too; segment 3 never does.
    const later = await new Retainer(d, policy()).plan(new Date(T0 + 400 * DAY));
    expect(later.decisions.filter((x) => x.action === "retire").map((x) => x.summary.segment)).not.toContain(3);
    expect(later.decisions.find((x) => x.summary.segment === 1)!.action).toBe("retire");
    // Retire segment 2 only, between two kept ones: verify walks over the gap with the record's frontier.
    const r = await new Retainer(d, policy()).pass(t.log, new Date(t.clock.now));
    expect(r.retired.map((x) => x.segment)).toEqual([2]);
    expect(rotated(d)).toContain(1);
    expect(rotated(d)).toContain(3);
    t.log.close();
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.retired).toMatchObject([{ segment: 2, status: "retired" }]);
    expect(v.json.total.tree_size).not.toBeNull(); // the chain is whole: segment 1's end joins the record's start
  });

  test("a segment a sink has not acknowledged is kept, naming the sink; once it has, it goes", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 50);
    const state = join(d, "fwd");
    const st = t.log.status();
    t.clock.now = T0 + 31 * DAY;
    const [s1, s2] = (await new Retainer(d, policy()).plan(new Date(t.clock.now))).decisions.map((x) => x.summary);
    saveCursor(cursorPath(state, "fast"), { log_id: st.logId, origin: st.origin, segment: 3, offset: 0, seq: s2!.lastSeq + 1 });
    saveCursor(cursorPath(state, "slow"), { log_id: st.logId, origin: st.origin, segment: 2, offset: 0, seq: s1!.lastSeq + 1 });
    const pol = policy({ sinks: [{ name: "fast", stateDir: state }, { name: "slow", stateDir: state }], requireSinks: true });
    const p = await new Retainer(d, pol).plan(new Date(t.clock.now));
    expect(p.decisions.map((x) => x.action)).toEqual(["retire", "keep"]);
    expect((p.decisions[1] as any).reasons).toEqual([`sink slow has acknowledged up to seq ${s1!.lastSeq}, not past seq ${s2!.lastSeq}`]);
    const r = await new Retainer(d, pol).pass(t.log, new Date(t.clock.now));
    expect(r.retired.map((x) => x.segment)).toEqual([1]);
    expect(JSON.parse(retireLines(d)[0]!).data.sinks).toEqual([{ name: "fast", seq: s2!.lastSeq + 1, segment: 3 }, { name: "slow", seq: s1!.lastSeq + 1, segment: 2 }]);
    expect(rotated(d)).toEqual([2]);
  });

  test("without a witness cosignature past a segment it is kept when required; a real cosignature past it lets it go", async () => {
    const d = dir();
    const t = smallLog(d, h);
    const key = witnessKey(d);
    try {
      records(t, 18);
      const inside = await cosignNow(t, key); // cosigns a tree inside segment 1: not past it
      records(t, 30);
      t.clock.now = T0 + 31 * DAY;
      const pol = policy({ witnesses: [parseVerifierKey(key.vkey)], requireWitness: true });
      let p = await new Retainer(d, pol).plan(new Date(t.clock.now));
      expect(p.decisions.map((x) => x.action)).toEqual(["keep", "keep"]);
      const last1 = p.decisions[0]!.summary.lastSeq;
      expect(inside).toBeLessThanOrEqual(last1);
      expect((p.decisions[0] as any).reasons).toEqual([`no witness has cosigned a checkpoint of tree size ${last1 + 1} or more (the largest cosigned is ${inside})`]);
      // Not required: the same log retires.
      expect((await new Retainer(d, policy()).plan(new Date(t.clock.now))).decisions[0]!.action).toBe("retire");
      // A cosignature by another key does not count.
      const other = witnessKey(join(d, "other"));
      await cosignNow(t, other);
      other.close();
      p = await new Retainer(d, pol).plan(new Date(t.clock.now));
      expect(p.decisions[0]!.action).toBe("keep");
      const size = await cosignNow(t, key);
      const r = await new Retainer(d, pol).pass(t.log, new Date(t.clock.now));
      expect(r.retired.map((x) => x.segment)).toEqual([1, 2]);
      expect(JSON.parse(retireLines(d)[0]!).data.witness).toMatchObject({ witness: "witness.test/retain", tree_size: size });
      t.log.close();
      expect(runVerify([d, "--pubkey", h.pubkeyPath]).code).toBe(0);
    } finally {
      key.close();
    }
  });
});

describe("what verify says of what remains", () => {
  test("a segment deleted by hand, with no retire record, is still incomplete (exit 2)", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 70); // segments 1–3 rotated
    t.clock.now = T0 + 31 * DAY;
    await new Retainer(d, policy()).pass(t.log, new Date(t.clock.now), {}).then(() => {});
    t.log.close();
    expect(runVerify([d, "--pubkey", h.pubkeyPath]).code).toBe(0);
    // Now a segment retention never touched: make one more rotation, then delete it by hand.
    const t2 = smallLog(d, h, t.clock);
    records(t2, 25);
    t2.log.close();
    const victim = listLogFiles(d).rotated.at(-1)!.path;
    unlinkSync(victim);
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(2);
    expect(v.json.result).toBe("incomplete");
    expect(JSON.stringify(v.json.findings)).toContain("no retire record names it");
    expect(v.json.retired.every((x: any) => x.status === "retired")).toBe(true);
  });

  test("a crash between the retire record and the deletion: verify checks the file against its record and says it was retired; the next pass deletes it", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 30);
    t.clock.now = T0 + 31 * DAY;
    const crash = new Error("crash before the deletion");
    const r = new Retainer(d, policy());
    await expect(r.pass(t.log, new Date(t.clock.now), { beforeDelete: () => { throw crash; } })).rejects.toBe(crash);
    expect(rotated(d)).toEqual([1]);
    expect(retireLines(d).length).toBe(1);
    t.log.close();
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.retired).toMatchObject([{ segment: 1, status: "present" }]);
    expect(JSON.stringify(v.json.findings)).toContain("but still present");
    // The next run finishes the deletion, without a second record.
    const t2 = smallLog(d, h, t.clock);
    const again = await new Retainer(d, policy()).pass(t2.log, new Date(t.clock.now));
    expect(again.retired).toMatchObject([{ segment: 1 }]);
    expect(rotated(d)).toEqual([]);
    expect(retireLines(d).length).toBe(1);
    t2.log.close();
    expect(runVerify([d, "--pubkey", h.pubkeyPath]).json.retired).toMatchObject([{ segment: 1, status: "retired" }]);
  });

  test("a retired segment still present whose bytes differ from its record is tampered", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 30);
    t.clock.now = T0 + 31 * DAY;
    await expect(new Retainer(d, policy()).pass(t.log, new Date(t.clock.now), { beforeDelete: () => { throw new Error("crash"); } })).rejects.toThrow("crash");
    t.log.close();
    // Rewrite the retire record's hash in place: the checkpoint covering it no longer matches.
    const sha = JSON.parse(retireLines(d)[0]!).data.sha256 as string;
    const active = logFiles(d).find((p) => readFileSync(p, "utf8").includes(sha))!;
    const text = readFileSync(active, "utf8");
    writeFileSync(active, text.replace(sha, sha.replace(/^./, (c) => (c === "0" ? "1" : "0"))));
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(1);
    expect(v.json.result).toBe("tampered");
    expect(JSON.stringify(v.json.findings)).toContain("retire record does not fit the log");
  });

  test("a retire record of a deleted segment with an altered hash is tampered (exit 1): the checkpoint over it no longer matches", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 50);
    t.clock.now = T0 + 31 * DAY;
    await new Retainer(d, policy()).pass(t.log, new Date(t.clock.now));
    records(t, 3);
    t.log.close();
    expect(runVerify([d, "--pubkey", h.pubkeyPath]).code).toBe(0);
    const sha = JSON.parse(retireLines(d)[0]!).data.sha256 as string;
    const file = logFiles(d).find((p) => readFileSync(p, "utf8").includes(sha))!;
    writeFileSync(file, readFileSync(file, "utf8").replace(sha, "f".repeat(64)));
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(1);
    expect(v.json.result).toBe("tampered");
  });

  test("a retire record with an altered frontier is tampered (exit 1)", async () => {
    const d = dir();
    const t = smallLog(d, h);
    records(t, 50);
    t.clock.now = T0 + 31 * DAY;
    await new Retainer(d, policy()).pass(t.log, new Date(t.clock.now));
    records(t, 3);
    t.log.close();
    const active = logFiles(d).find((p) => readFileSync(p, "utf8").includes('"kind":"retire"'))!;
    const lines = readFileSync(active, "utf8").split("\n");
    const i = lines.findIndex((l) => l.includes('"kind":"retire"') && l.includes('"segment":2'));
    const rec = JSON.parse(lines[i]!);
    const f0 = rec.data.frontier[0] as string;
    rec.data.frontier[0] = Buffer.alloc(32, 7).toString("base64");
    lines[i] = lines[i]!.replace(f0, rec.data.frontier[0]);
    writeFileSync(active, lines.join("\n"));
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(1);
    const msgs = JSON.stringify(v.json.findings);
    expect(msgs).toContain("retire record does not fit the log");
    expect(msgs).toContain("another frontier");
  });
});
