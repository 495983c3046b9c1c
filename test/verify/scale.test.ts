/**
 * Reports stay right at scale: the finding list is capped for display (50 per severity), but
 * every verdict (the log's, each segment's, the totals) is computed from all findings. A
 * segment whose only findings come after the cap is still shown for what it is.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { distVerify } from "../support/ato-verify.ts";
import { SEG, readLog, signedLog, writeLog, type Fixture } from "./_fixture.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await signedLog();
});
afterAll(() => fx?.cleanup());

describe("ato verify: reports at scale", () => {
  test("after 60 findings in segment 2, one changed record in segment 3 still makes it tampered; segment 4 stays verified", async () => {
    const d = fx.copy();
    const l = readLog(join(d, SEG(2)));
    writeLog(join(d, SEG(2)), [...l.slice(0, 10), ...Array.from({ length: 60 }, () => l[9]!), ...l.slice(10)]);
    const l3 = readLog(join(d, SEG(3)));
    l3[5] = l3[5]!.replace(/"packets":(\d+)/, (_, n) => `"packets":${Number(n) + 1}`);
    writeLog(join(d, SEG(3)), l3);
    const r = await distVerify([d, "--pubkey", fx.h.pubkeyPath], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.json.findings_total.tampered).toBeGreaterThan(60);
    expect(r.json.findings.filter((f: any) => f.severity === "tampered").length).toBe(50);
    expect(r.json.findings.some((f: any) => f.file.endsWith(SEG(3)))).toBe(false); // not listed…
    const status = Object.fromEntries(r.json.segments.map((s: any) => [s.segment, s.status]));
    expect(status[2]).toBe("tampered");
    expect(status[3]).toBe("tampered"); // …but counted
    expect(status[4]).toBe("verified");
  });
});

describe("ato verify --help", () => {
  test("lists the exit codes", () => {
    const r = Bun.spawnSync([join(import.meta.dir, "../../dist/ato"), "verify", "--help"], { env: { ...process.env, NO_COLOR: "1" } });
    expect(r.exitCode).toBe(0);
    const out = r.stdout.toString();
    for (const line of [/\b0 +verified/, /\b1 +tampered/, /\b2 +incomplete/, /\b3 +untrusted/, /\b64 +usage/, /\b70 +internal error/]) expect(out).toMatch(line);
  });
});
