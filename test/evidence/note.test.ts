/** Signed notes and key IDs against the published golang.org/x/mod/sumdb/note example, plus checkpoint text. */
import { describe, expect, test } from "bun:test";
import { verify, createPublicKey } from "node:crypto";
import { checkpointBody, formatSignedNote, keyId, keyIdHex, parseCheckpointBody, parseSignedNote, encodeRecord, parseRecord } from "../../src/evidence/index.ts";
import { EMPTY_ROOT } from "../../src/tree/index.ts";

// The example of golang.org/x/mod/sumdb/note: verifier key PeterNeumann+c74f20a3+ARpc2Qc…
const PETER_RAW = Buffer.from("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "base64").subarray(1);
const PETER_SPKI = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), PETER_RAW]);
const PETER_NOTE =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n" +
  "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

describe("signed notes (C2SP signed-note)", () => {
  test("Ed25519 key ID is SHA-256(name || 0x0A || 0x01 || key)[:4]", () => {
    expect(keyIdHex(keyId("PeterNeumann", "ed25519", PETER_SPKI))).toBe("c74f20a3");
  });

  test("parses the published note and its signature verifies over the note text", () => {
    const { text, signatures } = parseSignedNote(PETER_NOTE);
    expect(text.endsWith("is.\n")).toBe(true);
    expect(signatures).toHaveLength(1);
    expect(signatures[0]!.keyName).toBe("PeterNeumann");
    expect(keyIdHex(signatures[0]!.keyId)).toBe("c74f20a3");
    const key = createPublicKey({ key: PETER_SPKI, format: "der", type: "spki" });
    expect(verify(null, Buffer.from(text), key, signatures[0]!.signature)).toBe(true);
  });

  test("format and parse round-trip", () => {
    const sig = { keyName: "ato/host/abc", keyId: Uint8Array.of(1, 2, 3, 4), signature: new Uint8Array(64).fill(7) };
    const note = formatSignedNote("hello\n", [sig]);
    expect(parseSignedNote(note)).toEqual({ text: "hello\n", signatures: [sig] });
  });

  test("refuses notes without the blank line, with control characters, or with bad base64", () => {
    expect(() => parseSignedNote("hello\n\u2014 k AAAA\n")).toThrow();
    expect(() => parseSignedNote("he\tllo\n\n\u2014 k AQIDBAU=\n")).toThrow();
    expect(() => parseSignedNote("hello\n\n\u2014 k AQIDBAU\n")).toThrow();
    expect(() => parseSignedNote("hello\n\n- k AQIDBAU=\n")).toThrow();
  });
});

describe("checkpoint text (C2SP tlog-checkpoint)", () => {
  test("origin, decimal size, base64 root, each ending in a newline", () => {
    const body = checkpointBody({ origin: "ato/host/0123", size: 42, root: EMPTY_ROOT });
    expect(body).toBe("ato/host/0123\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    expect(parseCheckpointBody(body)).toEqual({ origin: "ato/host/0123", size: 42, root: EMPTY_ROOT });
  });

  test("refuses leading zeros, missing newline and short roots", () => {
    expect(() => parseCheckpointBody("o\n042\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")).toThrow();
    expect(() => parseCheckpointBody("o\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")).toThrow();
    expect(() => parseCheckpointBody("o\n42\nAAAA\n")).toThrow();
  });
});

describe("records", () => {
  test("envelope keys in canonical order, one line, data as given", () => {
    const line = encodeRecord({ v: 1, seq: 7, ts: "2025-06-01T12:00:00.000Z", kind: "flow", class: "internal", data: { packets: 3, bytes: 180 } });
    expect(line).toBe('{"class":"internal","data":{"bytes":180,"packets":3},"kind":"flow","seq":7,"ts":"2025-06-01T12:00:00.000Z","v":1}');
    expect(parseRecord(line).data).toEqual({ bytes: 180, packets: 3 });
  });

  test("refuses bad kinds and labels, and lines that are not records", () => {
    expect(() => encodeRecord({ v: 1, seq: 0, ts: "2025-06-01T12:00:00.000Z", kind: "Flow Record", class: "internal", data: {} })).toThrow();
    expect(() => parseRecord('{"v":1}')).toThrow();
    expect(() => parseRecord("not json")).toThrow();
  });
});
