/**
 * The checkpoint line as the writer builds it (checkpointDataText, encodeLine) is byte for byte
 * the line canonicalize() and encodeObjects() give for the same data, its leaf hash too: signed
 * and failed checkpoints, first and later segments, frontiers of 0 to 53 hashes, names and
 * reasons that need escapes or are beyond ASCII; and what canonicalize refuses is refused with
 * canonicalize's own error.
 */
import { describe, expect, test } from "bun:test";
import { canonicalize, encodeRecord, type CheckpointData, type RecordData } from "../../src/evidence/index.ts";
import { checkpointData, checkpointDataText } from "../../src/log/checkpoint-line.ts";
import { encodeLine, encodeObjects } from "../../src/log/encode.ts";
import type { SignOutcome } from "../../src/log/signing.ts";
import { base64, hashLeaf } from "../../src/tree/index.ts";

let seed = 7;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;

const ORIGINS = ["ato/host-1/0123456789abcdef", "example.org/ato", "häst/öl ✓", "tab\tin/origin", 'quote"and\\back'];
const KEY_NAMES = ["ato-ed25519", "key.é", "a"];
const REASONS = ["no signer is configured", "the token's signature does not verify with its public key 'k'", 'CKR_DEVICE_REMOVED "x" \\ \u0001 \u2028 😀'];

function randomData(i: number): CheckpointData {
  const origin = pick(ORIGINS), size = Math.floor(random() * 2 ** 40) + (i % 3 === 0 ? 2 ** 52 : 0);
  const root = bytes(32), text = `${origin}\n${size}\n${base64(root)}\n`;
  const identity = i % 5 === 0 ? undefined : { algorithm: pick(["ed25519", "ecdsa-p256"] as const), keyName: pick(KEY_NAMES), keyId: bytes(4), keyIdHex: Buffer.from(bytes(4)).toString("hex"), spkiDer: bytes(44) };
  const signed: SignOutcome = identity && i % 2 === 0
    ? { ok: true, signature: bytes(identity.algorithm === "ed25519" ? 64 : 70 + (i % 3)), identity, seconds: 0.001 }
    : { ok: false, reason: pick(REASONS), identity, seconds: i % 4 === 0 ? undefined : 0.002 };
  const frontier = Array.from({ length: i % 54 }, () => base64(bytes(32)));
  const prev = i % 4 === 1 ? null : { file: `signed_evidence.${String(1 + (i % 9)).padStart(6, "0")}.log`, segment: 1 + (i % 9), tree_size: size - 1, root: base64(bytes(32)) };
  return checkpointData({ text, signed, origin, frontier, root, segment: prev ? prev.segment + 1 : 1, prev, treeSize: size, trigger: pick(["count", "interval", "shutdown", "start", "manual"] as const) });
}

describe("the checkpoint line", () => {
  test("checkpointDataText writes what canonicalize writes, for 400 checkpoints of every shape", () => {
    const wrong: string[] = [];
    for (let i = 0; i < 400; i++) {
      const d = randomData(i);
      if (checkpointDataText(d) !== canonicalize(d)) wrong.push(canonicalize(d));
    }
    expect(wrong).toEqual([]);
  });

  test("encodeLine gives the line and leaf hash encodeObjects gives, and the bytes encodeRecord describes", () => {
    const ts = "2026-12-01T22:15:00.123Z";
    for (let i = 0; i < 60; i++) {
      const d = randomData(i), cls = pick(["internal", "confidential"]), seq = 1000 * i + 17;
      const own = encodeLine("checkpoint", checkpointDataText(d), cls, seq, ts);
      const e = encodeObjects("checkpoint", [d as unknown as RecordData], cls, seq, ts);
      expect(Buffer.from(own.line).equals(Buffer.from(e.text.subarray(1)))).toBe(true);
      expect(Buffer.from(own.leaf).equals(Buffer.from(e.leaves.subarray(0, 32)))).toBe(true);
      const text = encodeRecord({ v: 1, seq, ts, kind: "checkpoint", class: cls, data: d as unknown as RecordData });
      expect(new TextDecoder().decode(own.line)).toBe(`${text}\n`);
      expect(own.leaf).toEqual(hashLeaf(new TextEncoder().encode(text)));
    }
  });

  test("a string canonicalize refuses (a lone surrogate) is refused with canonicalize's error, naming the member", () => {
    const d = { ...randomData(2), origin: "ato/\ud800" };
    expect(() => canonicalize(d)).toThrow(/lone surrogate.*\$\.origin/);
    expect(() => checkpointDataText(d)).toThrow(/lone surrogate.*\$\.origin/);
    expect(() => encodeLine("checkpoint", "{}", "Not A Class", 1, "2026-12-01T22:15:00.123Z")).toThrow(/classification label/);
  });
});
