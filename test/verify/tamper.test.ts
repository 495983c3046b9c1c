/**
 * The tamper matrix: one signed log (real SoftHSM key, several segments), copied and damaged
 * one way per case, then checked with `bun src/main.ts verify --json`. Each case pins the
 * exit code and the file and line (or segment) that the report names first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRecord } from "../../src/evidence/index.ts";
import { closeLogs, flow, hsm, openLog, removeDir, runVerify, tempDir, type Hsm, type VerifyRun } from "../log/_helpers.ts";

let h: Hsm;
let base: string;
let other: string;
const scratch: string[] = [];
const SEG2 = "signed_evidence.000002.log";
const ACTIVE = "signed_evidence.log";

beforeAll(async () => {
  h = await hsm("ed25519");
  base = tempDir();
  let log = openLog(base, h, { checkpointEvery: 8, rotateLines: 40 });
  for (let i = 0; i < 150; i++) log.appendRecord("flow", flow(i));
  log.close();
  other = tempDir(); // a second log with the same key, for the "inserted from another log" case
  log = openLog(other, h, { checkpointEvery: 8 });
  for (let i = 0; i < 20; i++) log.appendRecord("flow", flow(i));
  log.close();
});

afterAll(() => {
  closeLogs();
  for (const d of [base, other, ...scratch]) if (d) removeDir(d); // removeDir also takes plain files
  h?.cleanup();
});

function copy(): string {
  const d = tempDir();
  scratch.push(d);
  rmSync(d, { recursive: true });
  cpSync(base, d, { recursive: true });
  return d;
}

const read = (path: string) => readFileSync(path, "utf8").split("\n").slice(0, -1);
const write = (path: string, lines: string[]) => writeFileSync(path, lines.map((l) => `${l}\n`).join(""));

/** Edits the lines of one file of a fresh copy and runs verify on the copy. */
function tampered(file: string, edit: (lines: string[]) => string[], extra: string[] = []): VerifyRun {
  const d = copy();
  write(join(d, file), edit(read(join(d, file))));
  return runVerify([d, "--pubkey", h.pubkeyPath, ...extra]);
}

/** 1-based line numbers of the checkpoint lines of a file of the base log. */
function checkpointLines(file: string): number[] {
  return read(join(base, file)).flatMap((l, i) => (l.includes('"kind":"checkpoint"') ? [i + 1] : []));
}

function firstFinding(v: VerifyRun) {
  return v.json.findings.find((f: any) => f.severity === v.json.result);
}

/** The report's first finding of its worst kind names `file` and `line` (exactly, or inside the damage range). */
function expectNamed(v: VerifyRun, file: string, line: number) {
  const f = firstFinding(v);
  expect(f.file).toEndWith(`/${file}`);
  if (f.lines) {
    expect(f.lines.from.line).toBeLessThanOrEqual(line);
    expect(f.lines.to.line).toBeGreaterThanOrEqual(line);
  } else {
    expect(f.line).toBe(line);
  }
  expect(v.stderr).toContain(file);
}

describe("ato verify: the untouched log", () => {
  test("verifies (exit 0) with every segment verified", () => {
    const v = runVerify([base, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.result).toBe("verified");
    expect(v.json.segments.length).toBeGreaterThanOrEqual(4);
    expect(v.json.segments.every((s: any) => s.status === "verified")).toBe(true);
    expect(v.json.total.unsigned_tail).toBe(0);
  });

  test("prints a plain-words report without --json", () => {
    const v = runVerify([base, "--pubkey", h.pubkeyPath], { json: false });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("signed_evidence.000001.log  segment 1");
    expect(v.stdout).toContain("VERIFIED:");
  });
});

describe("ato verify: tamper matrix", () => {
  test("one byte changed in a record → exit 1, names the range holding that line", () => {
    const v = tampered(SEG2, (l) => ((l[9] = l[9]!.replace(/"packets":(\d)/, (_, d) => `"packets":${(Number(d) + 1) % 10}`)), l));
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, 10);
    // Narrowed to one checkpoint interval (8 lines, plus the checkpoint line before them).
    expect(firstFinding(v).lines.to.line - firstFinding(v).lines.from.line).toBeLessThanOrEqual(8);
  });

  test("one byte changed in a checkpoint's root → exit 1 at that checkpoint", () => {
    const cp = checkpointLines(SEG2)[1]!;
    const v = tampered(SEG2, (l) => ((l[cp - 1] = l[cp - 1]!.replace(/"root":"(.)/, (_, c) => `"root":"${c === "A" ? "B" : "A"}`)), l));
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, cp);
  });

  test("one byte changed in a checkpoint's time → exit 1, caught by the next checkpoint", () => {
    const cp = checkpointLines(SEG2)[1]!;
    const v = tampered(SEG2, (l) => ((l[cp - 1] = l[cp - 1]!.replace(/"ts":"(\d)/, (_, d) => `"ts":"${(Number(d) + 1) % 10}`)), l));
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, cp);
  });

  test("one byte changed in a signature (in the signed note) → exit 1 at that checkpoint", () => {
    const cp = checkpointLines(SEG2)[2]!;
    const v = tampered(SEG2, (l) => {
      const sig = /\u2014 \S+ ([A-Za-z0-9+/=]+)\\n/.exec(l[cp - 1]!)![1]!; // past the 4-byte key ID
      l[cp - 1] = l[cp - 1]!.replace(sig, sig.slice(0, 20) + (sig[20] === "A" ? "B" : "A") + sig.slice(21));
      return l;
    });
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, cp);
    expect(firstFinding(v).message).toContain("does not verify");
  });

  test("one byte changed in a checkpoint's signature field → exit 1 at that checkpoint", () => {
    const cp = checkpointLines(SEG2)[2]!;
    const v = tampered(SEG2, (l) => ((l[cp - 1] = l[cp - 1]!.replace(/"signature":"(.{10})(.)/, (_, a, c) => `"signature":"${a}${c === "A" ? "B" : "A"}`)), l));
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, cp);
  });

  test("a line deleted → exit 1, names where the seq jumps", () => {
    const v = tampered(SEG2, (l) => l.filter((_, i) => i !== 9));
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, 10);
    expect(firstFinding(v).message).toContain("missing");
  });

  test("a line duplicated → exit 1, names the copy", () => {
    const v = tampered(SEG2, (l) => [...l.slice(0, 10), l[9]!, ...l.slice(10)]);
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, 11);
  });

  test("two lines swapped → exit 1, names the first of them", () => {
    const v = tampered(SEG2, (l) => [...l.slice(0, 9), l[10]!, l[9]!, ...l.slice(11)]);
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, 10);
  });

  test("a record from another log inserted → exit 1, names it", () => {
    const foreign = read(join(other, ACTIVE))[5]!;
    const v = tampered(SEG2, (l) => [...l.slice(0, 9), foreign, ...l.slice(9)]);
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, 10);
  });

  test("a middle segment removed → exit 2, names the missing segment", () => {
    const d = copy();
    rmSync(join(d, SEG2));
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(2);
    expect(firstFinding(v).message).toContain("segment 2 is missing (signed_evidence.000002.log)");
    expect(v.json.segments.filter((s: any) => s.status === "verified").length).toBe(v.json.segments.length - 1);
    expect(v.json.total.tree_size).toBeNull(); // the lines of segment 2 were not seen: no size is claimed
    expect(v.json.total.lines).toBe(v.json.segments.reduce((a: number, s: any) => a + s.lines, 0));
  });

  test("the tail cut after a checkpoint → exit 0 alone, exit 2 with --trusted-checkpoint", () => {
    const d = copy();
    const active = read(join(d, ACTIVE));
    const trusted = join(d, "..", `${d.split("/").pop()}.note`); // kept away from the log, as /checkpoint's copy would be
    scratch.push(trusted);
    writeFileSync(trusted, JSON.parse(active.at(-1)!).data.note); // the last signed note
    write(join(d, ACTIVE), active.slice(0, checkpointLines(ACTIVE).at(-2)!));
    expect(runVerify([d, "--pubkey", h.pubkeyPath]).code).toBe(0);
    const v = runVerify([d, "--pubkey", h.pubkeyPath, "--trusted-checkpoint", trusted]);
    expect(v.code).toBe(2);
    expect(v.json.trusted_checkpoint.status).toBe("log is shorter");
    expect(firstFinding(v).message).toContain("cut from its end");
    expect(runVerify([base, "--pubkey", h.pubkeyPath, "--trusted-checkpoint", trusted]).json.trusted_checkpoint.status).toBe("consistent");
  });

  test("the tail rewritten after a checkpoint, past a trusted checkpoint → exit 1", () => {
    const d = copy();
    const active = read(join(d, ACTIVE));
    const trusted = join(d, "..", `${d.split("/").pop()}.note`);
    scratch.push(trusted);
    writeFileSync(trusted, JSON.parse(active.at(-1)!).data.note);
    const cut = checkpointLines(ACTIVE).at(-2)!;
    const kept = active.slice(0, cut);
    const next = JSON.parse(kept.at(-1)!).seq + 1;
    const forged = Array.from({ length: active.length - cut + 3 }, (_, i) => encodeRecord({ v: 1, seq: next + i, ts: "2030-01-01T00:00:00.000Z", kind: "flow", class: "internal", data: flow(1000 + i) }));
    write(join(d, ACTIVE), [...kept, ...forged]);
    const v = runVerify([d, "--pubkey", h.pubkeyPath, "--trusted-checkpoint", trusted]);
    expect(v.code).toBe(1);
    expect(v.json.trusted_checkpoint.status).toBe("mismatch");
    expect(firstFinding(v).message).toContain("do not have the root of the trusted checkpoint");
  });

  test("the wrong public key → exit 3", () => {
    const v = runVerify([base, "--pubkey", join(import.meta.dir, "../fixtures/evidence/other-ed25519.pem")]);
    expect(v.code).toBe(3);
    expect(v.json.result).toBe("untrusted");
    expect(firstFinding(v).message).toContain("not by the given public key");
  });

  test("a partial last line in a rotated segment → exit 1; in the active segment it is in progress (exit 0)", () => {
    const d = copy();
    appendFileSync(join(d, SEG2), '{"class":"internal","da');
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(1);
    expectNamed(v, SEG2, read(join(base, SEG2)).length + 1);
    const e = copy();
    appendFileSync(join(e, ACTIVE), '{"class":"internal","da');
    const w = runVerify([e, "--pubkey", h.pubkeyPath]);
    expect(w.code).toBe(0);
    expect(w.json.segments.at(-1).in_progress_bytes).toBe(23);
  });

  test("renamed segment files are put back in log order (exit 0, noted)", () => {
    const d = copy();
    renameSync(join(d, "signed_evidence.000001.log"), join(d, "x"));
    renameSync(join(d, SEG2), join(d, "signed_evidence.000001.log"));
    renameSync(join(d, "x"), join(d, SEG2));
    const v = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(0);
    expect(v.json.findings.some((f: any) => f.message.includes("was rotated as signed_evidence.000001.log"))).toBe(true);
  });

  test("a segment's number edited → exit 1 at its first line", () => {
    const v = tampered(SEG2, (l) => ((l[0] = l[0]!.replace('"segment":2', '"segment":3')), l));
    expect(v.code).toBe(1);
    expect(v.json.findings.some((f: any) => f.severity === "tampered" && f.file.endsWith(SEG2))).toBe(true);
  });

  test("one segment given alone is incomplete (exit 2): the lines before it were not seen", () => {
    const v = runVerify([join(base, "signed_evidence.000003.log"), "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(2);
    expect(v.json.segments[0].segment).toBe(3);
    expect(firstFinding(v).message).toContain("segments 1–2 were not given");
    expect(v.json.total.start_checked).toBe(false);
    expect(v.json.total.tree_size).toBeNull();
  });

  test("one segment with --from-checkpoint inside it verifies (exit 0) from there", () => {
    const seg3 = join(base, "signed_evidence.000003.log");
    const cp = checkpointLines("signed_evidence.000003.log")[0]!;
    const from = join(tempDir(), "from.note");
    scratch.push(join(from, ".."));
    writeFileSync(from, JSON.parse(read(seg3)[cp - 1]!).data.note);
    const v = runVerify([seg3, "--pubkey", h.pubkeyPath, "--from-checkpoint", from]);
    expect(v.code).toBe(0);
    expect(v.json.from_checkpoint.status).toBe("consistent");
    expect(v.json.total.start_checked).toBe(true);
    expect(v.json.total.start_tree_size).toBe(JSON.parse(read(seg3)[0]!).seq);
    // A starting checkpoint before the first given segment leaves lines unseen.
    const early = join(from, "..", "early.note");
    writeFileSync(early, JSON.parse(read(join(base, "signed_evidence.000001.log"))[checkpointLines("signed_evidence.000001.log")[0]! - 1]!).data.note);
    expect(runVerify([seg3, "--pubkey", h.pubkeyPath, "--from-checkpoint", early]).code).toBe(2);
  });

  test("the first segment deleted, with the latest checkpoint as --trusted-checkpoint: still incomplete (exit 2)", () => {
    // Found by the fuzz test: a checkpoint the log must reach says nothing about lines not given.
    const d = copy();
    const trusted = join(d, "..", `${d.split("/").pop()}.note`);
    scratch.push(trusted);
    writeFileSync(trusted, JSON.parse(read(join(d, ACTIVE)).at(-1)!).data.note);
    rmSync(join(d, "signed_evidence.000001.log"));
    const v = runVerify([d, "--pubkey", h.pubkeyPath, "--trusted-checkpoint", trusted]);
    expect(v.code).toBe(2);
    expect(v.json.trusted_checkpoint.status).toBe("consistent");
    expect(firstFinding(v).message).toContain("segment 1 was not given");
  });

  test("the same segment given twice under two names → exit 1", () => {
    const d = copy();
    cpSync(join(d, SEG2), join(d, "copy-of-2.log"));
    const v = runVerify([join(d, "signed_evidence.000001.log"), join(d, SEG2), join(d, "copy-of-2.log"), "--pubkey", h.pubkeyPath]);
    expect(v.code).toBe(1);
    expect(firstFinding(v).message).toContain("appears twice");
  });
});

describe("ato verify: policy and usage", () => {
  test("--max-unsigned: an unsigned tail beyond it → exit 2", () => {
    const d = tempDir();
    scratch.push(d);
    const log = openLog(d, h, { checkpointEvery: 10 });
    for (let i = 0; i < 14; i++) log.appendRecord("flow", flow(i));
    const loose = runVerify([d, "--pubkey", h.pubkeyPath]);
    expect(loose.code).toBe(0);
    expect(loose.json.total.unsigned_tail).toBe(5);
    expect(runVerify([d, "--pubkey", h.pubkeyPath, "--max-unsigned", "4"]).code).toBe(2);
    expect(runVerify([d, "--pubkey", h.pubkeyPath, "--max-unsigned", "5"]).code).toBe(0);
    log.close();
  });

  test("usage errors → exit 64", () => {
    expect(runVerify([base]).code).toBe(64);
    expect(runVerify([join(base, "nope"), "--pubkey", h.pubkeyPath]).code).toBe(64);
    expect(runVerify([base, "--pubkey", join(base, ACTIVE)]).code).toBe(64);
    expect(runVerify([base, "--pubkey", h.pubkeyPath, "--export-proof", "3"]).code).toBe(64);
  });
});
