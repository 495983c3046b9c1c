/**
 * Checkpoint signatures checked ahead by the hash worker (src/verify/hash-worker-sigs.ts): the
 * worker's record holds each checkpoint line's key, signed text, signature and verdict; the
 * verifier's thread takes a verdict only for exactly those bytes and checks anything else itself,
 * so a changed text or signature is never vouched for by a verdict made for other bytes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseRecord, parseSignedNote } from "../../src/evidence/index.ts";
import { verifySignature } from "../../src/signer/verify.ts";
import { checkedSignature, presign, provideSignatures, SIG_BYTES } from "../../src/verify/hash-worker-sigs.ts";
import { loadKeys, type TrustedKey } from "../../src/verify/keys.ts";
import { readLog, signedLog, type Fixture } from "./_fixture.ts";

let fx: Fixture;
let keys: TrustedKey[];
beforeAll(async () => {
  fx = await signedLog({ records: 60, checkpointEvery: 8, rotateLines: 1000 });
  keys = loadKeys([fx.h.pubkeyPath]);
});
afterAll(() => fx?.cleanup());
afterEach(() => provideSignatures(undefined));

/** The log's lines in one buffer with a spare byte before each, as the reader holds them. */
function chunk(lines: string[]) {
  const text = Buffer.from(`\n${lines.join("\n")}\n`);
  const spans = new Uint32Array(2 * lines.length);
  let at = 1;
  lines.forEach((l, i) => {
    spans[2 * i] = at;
    spans[2 * i + 1] = Buffer.byteLength(l);
    at += Buffer.byteLength(l) + 1;
  });
  return { buf: new Uint8Array(text), spans, count: lines.length };
}

/** What checkpoint.ts checks for a checkpoint line: the note's text and its first signature. */
function signed(line: string): { text: Uint8Array; signature: Uint8Array } {
  const note = parseSignedNote((parseRecord(line).data as { note: string }).note);
  return { text: new TextEncoder().encode(note.text), signature: note.signatures[0]!.signature };
}

describe("signatures checked ahead by the hash worker", () => {
  test("a verdict is taken only for the same key, text and signature; anything else is checked again", () => {
    const lines = readLog(join(fx.base, readdirSync(fx.base).sort()[0]!));
    const cps = lines.filter((l) => parseRecord(l).kind === "checkpoint");
    expect(cps.length).toBeGreaterThan(3);
    const { buf, spans, count } = chunk(lines);
    const words = new Int32Array(new SharedArrayBuffer(SIG_BYTES));
    presign(buf, spans, count, keys, words, () => false);
    expect(Atomics.load(words, 0)).toBe(cps.length); // every checkpoint line, nothing else
    provideSignatures({ keys, words });
    for (const line of cps) {
      const { text, signature } = signed(line);
      expect(checkedSignature(keys[0]!, text, signature)).toBe(true);
      const changed = text.slice();
      changed[changed.length - 2]! ^= 1; // the root's last base64 character
      expect(checkedSignature(keys[0]!, changed, signature)).toBe(false);
      const forged = signature.slice();
      forged[0]! ^= 1;
      expect(checkedSignature(keys[0]!, text, forged)).toBe(verifySignature(keys[0]!.spkiDer, "ed25519", text, forged));
    }
    // The verdict is used: written as "bad" for the intact bytes, it is what the check says.
    words[2] = 0;
    expect(checkedSignature(keys[0]!, signed(cps[0]!).text, signed(cps[0]!).signature)).toBe(false);
    provideSignatures(undefined);
    expect(checkedSignature(keys[0]!, signed(cps[0]!).text, signed(cps[0]!).signature)).toBe(true);
  });

  test("a bad signature gets a bad verdict; the worker stops once this thread is past the chunk", () => {
    const lines = readLog(join(fx.base, readdirSync(fx.base).sort()[0]!));
    const i = lines.findIndex((l) => parseRecord(l).kind === "checkpoint");
    const bad = Buffer.from(signed(lines[i]!).signature);
    bad[5]! ^= 0x10;
    // The note's signature line is "— name base64(key ID || signature)": one bit of the signature changed.
    const rec = JSON.parse(lines[i]!);
    rec.data.note = rec.data.note.replace(/(\u2014 \S+ )(\S+)\n$/, (_: string, head: string, b64: string) => {
      const raw = Buffer.from(b64, "base64");
      raw[4 + 5]! ^= 0x10;
      return `${head}${raw.toString("base64")}\n`;
    });
    lines[i] = JSON.stringify(rec);
    const { buf, spans, count } = chunk(lines);
    const words = new Int32Array(new SharedArrayBuffer(SIG_BYTES));
    presign(buf, spans, count, keys, words, () => false);
    provideSignatures({ keys, words });
    const { text, signature } = signed(lines[i]!);
    expect(Buffer.from(signature).equals(bad)).toBe(true);
    expect(words[2]).toBe(0); // the first entry: this checkpoint, verdict bad
    expect(checkedSignature(keys[0]!, text, signature)).toBe(false);
    presign(buf, spans, count, keys, words, () => true);
    expect(Atomics.load(words, 0)).toBe(0);
  });
});
