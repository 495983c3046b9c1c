/**
 * Verifying a log that is being written: sizes are taken when verification starts, a line
 * being written is "in progress", and rotations during the run do not show as missing
 * segments. A writer process appends (and rotates) continuously while verify runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { hsm, removeDir, runVerify, tempDir, type Hsm } from "../log/_helpers.ts";

let h: Hsm;
let dir: string;
let writer: ReturnType<typeof Bun.spawn> | undefined;

beforeAll(async () => {
  h = await hsm("ed25519");
  dir = tempDir();
});

afterAll(async () => {
  writer?.kill("SIGKILL");
  await writer?.exited;
  removeDir(dir);
  h?.cleanup();
});

describe("ato verify on a live log", () => {
  test("passes again and again while a writer appends and rotates", async () => {
    writer = Bun.spawn(["bun", join(import.meta.dir, "../log/_writer-child.ts"), dir], { env: { ...process.env, ...h.token.env }, stdout: "ignore", stderr: "pipe" });
    while (readdirSync(dir).length < 2) await Bun.sleep(20);
    const codes: number[] = [];
    const segments = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const v = runVerify([dir, "--pubkey", h.pubkeyPath]);
      codes.push(v.code);
      if (v.code !== 0) console.error(v.json?.summary ?? v.stderr);
      segments.add(v.json.segments.length);
    }
    expect(codes).toEqual(codes.map(() => 0));
    expect(segments.size).toBeGreaterThan(1); // rotations happened between runs
  }, 60_000);
});
