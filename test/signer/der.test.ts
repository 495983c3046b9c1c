/** The pure parts: DER shapes, key type detection, EC point forms, PEM, offline verification. */
import { describe, expect, test } from "bun:test";
import { createPublicKey, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { ecdsaRawToDer, hex, OID, unwrapOctetString } from "../../src/signer/_der.ts";
import { algorithmOfSpki, signatureVerifier, spkiFromPem, spkiToPem, verifySignature } from "../../src/signer/index.ts";
import { CKK, detectAlgorithm, ecPointToSpki } from "../../src/signer/keytype.ts";

const ed = generateKeyPairSync("ed25519");
const p256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const der = (k: typeof ed.publicKey) => Uint8Array.from(k.export({ format: "der", type: "spki" }));
const edSpki = der(ed.publicKey);
const p256Spki = der(p256.publicKey);
const msg = new TextEncoder().encode("checkpoint body\n");

describe("ecdsaRawToDer", () => {
  test("adds a zero byte before an integer with its top bit set, and strips leading zeros", () => {
    const r = new Uint8Array(32).fill(0x80);
    const s = Uint8Array.of(...new Array(31).fill(0), 0x05);
    expect(Buffer.from(ecdsaRawToDer(Uint8Array.of(...r, ...s))).toString("hex")).toBe(`3026022100${"80".repeat(32)}020105`);
  });
  test("an all-zero half is INTEGER 0, not an empty integer", () => {
    expect(Buffer.from(ecdsaRawToDer(new Uint8Array(64))).toString("hex")).toBe("3006020100020100");
  });
  test("agrees with node:crypto's own DER for the same signature", () => {
    const raw = nodeSign("sha256", msg, { key: p256.privateKey, dsaEncoding: "ieee-p1363" });
    const derSig = ecdsaRawToDer(raw);
    expect(verifySignature(p256Spki, "ecdsa-p256", msg, derSig)).toBe(true);
  });
  test("odd-length input is a bug in the caller", () => {
    expect(() => ecdsaRawToDer(new Uint8Array(63))).toThrow();
  });
});

describe("unwrapOctetString", () => {
  test("returns the content of a DER OCTET STRING spanning the input", () => {
    expect(unwrapOctetString(hex("0403010203"))).toEqual(hex("010203"));
  });
  test("rejects trailing garbage, truncation and other tags", () => {
    expect(unwrapOctetString(hex("040301020300"))).toBeUndefined();
    expect(unwrapOctetString(hex("04030102"))).toBeUndefined();
    expect(unwrapOctetString(hex("0303010203"))).toBeUndefined();
  });
});

describe("detectAlgorithm", () => {
  const printable = (s: string) => Uint8Array.of(0x13, s.length, ...new TextEncoder().encode(s));
  test("Edwards keys with the RFC 8410 OID, the curve name pkcs11-tool writes, or the GnuPG OID are Ed25519", () => {
    for (const params of [OID.ed25519, printable("edwards25519"), OID.ed25519Gnu]) {
      expect(detectAlgorithm(CKK.EC_EDWARDS, params)).toEqual({ algorithm: "ed25519" });
    }
  });
  test("Ed448, P-384, RSA and X25519 are named as unsupported", () => {
    expect(detectAlgorithm(CKK.EC_EDWARDS, OID.ed448)).toHaveProperty("unsupported");
    expect(detectAlgorithm(CKK.EC, hex("06052b81040022"))).toEqual({ unsupported: "EC on a curve other than P-256 (CKA_EC_PARAMS 06052b81040022)" });
    expect(detectAlgorithm(CKK.RSA, undefined)).toEqual({ unsupported: "RSA" });
    expect(detectAlgorithm(CKK.EC_MONTGOMERY, undefined)).toHaveProperty("unsupported");
  });
  test("EC keys on prime256v1 are ECDSA P-256", () => {
    expect(detectAlgorithm(CKK.EC, OID.prime256v1)).toEqual({ algorithm: "ecdsa-p256" });
  });
});

describe("ecPointToSpki", () => {
  const edRaw = edSpki.subarray(edSpki.length - 32);
  const p256Point = p256Spki.subarray(p256Spki.length - 65);
  test("Ed25519: the DER-wrapped point (PKCS#11) and the bare 32 bytes (some modules) give the same SPKI", () => {
    expect(ecPointToSpki("ed25519", Uint8Array.of(0x04, 0x20, ...edRaw))).toEqual(edSpki);
    expect(ecPointToSpki("ed25519", edRaw)).toEqual(edSpki);
  });
  test("P-256: 04 41 04‖X‖Y and the bare 04‖X‖Y give the same SPKI", () => {
    expect(ecPointToSpki("ecdsa-p256", Uint8Array.of(0x04, 0x41, ...p256Point))).toEqual(p256Spki);
    expect(ecPointToSpki("ecdsa-p256", p256Point)).toEqual(p256Spki);
  });
  test("a point of the wrong size or off the curve is an HSM error", () => {
    expect(() => ecPointToSpki("ed25519", new Uint8Array(31))).toThrow(AtoError);
    const off = Uint8Array.from(p256Point);
    off[64]! ^= 1;
    expect(() => ecPointToSpki("ecdsa-p256", off)).toThrow(/not a valid ecdsa-p256 public key/);
  });
});

describe("PEM", () => {
  test("round-trips, and OpenSSL's own PEM reads back to the same DER", () => {
    expect(spkiFromPem(spkiToPem(edSpki))).toEqual(edSpki);
    expect(spkiFromPem(p256.publicKey.export({ format: "pem", type: "spki" }) as string)).toEqual(p256Spki);
    expect(createPublicKey(spkiToPem(p256Spki)).asymmetricKeyType).toBe("ec");
  });
  test("names the algorithm of a key, and refuses keys ato cannot use", () => {
    expect(algorithmOfSpki(edSpki)).toBe("ed25519");
    expect(algorithmOfSpki(p256Spki)).toBe("ecdsa-p256");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "pem", type: "spki" }) as string;
    expect(() => spkiFromPem(rsa)).toThrow(/not an Ed25519 or P-256 key/);
    expect(() => spkiFromPem("hello")).toThrow(/PUBLIC KEY/);
  });
});

describe("verifySignature", () => {
  const edSig = nodeSign(null, msg, ed.privateKey);
  const p256Sig = nodeSign("sha256", msg, p256.privateKey);
  test("accepts good signatures and rejects a flipped byte in message or signature", () => {
    expect(verifySignature(edSpki, "ed25519", msg, edSig)).toBe(true);
    expect(verifySignature(p256Spki, "ecdsa-p256", msg, p256Sig)).toBe(true);
    const flipped = Uint8Array.from(edSig);
    flipped[10]! ^= 1;
    expect(verifySignature(edSpki, "ed25519", msg, flipped)).toBe(false);
    expect(verifySignature(p256Spki, "ecdsa-p256", Uint8Array.of(...msg, 0), p256Sig)).toBe(false);
  });
  test("a key of the other algorithm, a truncated or garbage signature: false", () => {
    expect(verifySignature(edSpki, "ecdsa-p256", msg, edSig)).toBe(false);
    expect(verifySignature(p256Spki, "ed25519", msg, p256Sig)).toBe(false);
    expect(verifySignature(edSpki, "ed25519", msg, edSig.subarray(0, 63))).toBe(false);
    expect(verifySignature(p256Spki, "ecdsa-p256", msg, new Uint8Array(8))).toBe(false);
  });
  test("a malformed key is an error, not a 'bad signature'", () => {
    expect(() => verifySignature(new Uint8Array(10), "ed25519", msg, edSig)).toThrow(AtoError);
  });
  test("signatureVerifier (the key parsed once) answers as verifySignature, signature after signature", () => {
    const flip = (b: Uint8Array, i: number) => { const c = Uint8Array.from(b); c[i]! ^= 1; return c; };
    const cases: [Uint8Array, "ed25519" | "ecdsa-p256", Uint8Array, Uint8Array][] = [];
    for (const [spki, alg, sig] of [[edSpki, "ed25519", edSig], [p256Spki, "ecdsa-p256", p256Sig]] as const) {
      for (const a of ["ed25519", "ecdsa-p256"] as const) {
        cases.push([spki, a, msg, sig], [spki, a, Uint8Array.of(...msg, 0), sig], [spki, a, msg, sig.subarray(0, sig.length - 1)], [spki, a, msg, new Uint8Array(8)]);
        for (let i = 0; i < sig.length; i += 7) cases.push([spki, alg, msg, flip(sig, i)]);
      }
    }
    const checks = new Map<string, ReturnType<typeof signatureVerifier>>();
    let good = 0;
    for (const [spki, alg, m, sig] of cases) {
      const key = `${spki === edSpki}/${alg}`;
      const check = checks.get(key) ?? checks.set(key, signatureVerifier(spki, alg)).get(key)!;
      const expected = verifySignature(spki, alg, m, sig);
      expect(check(m, sig)).toBe(expected);
      if (expected) good++;
    }
    expect(good).toBe(2); // each key's own good signature, and nothing else
    expect(() => signatureVerifier(new Uint8Array(10), "ed25519")).toThrow(AtoError);
  });
  test("verify.ts and everything it imports stay free of pkcs11js (ato verify runs without an HSM)", () => {
    const seen = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const specifiers = [...readFileSync(file, "utf8").matchAll(/(?:from |import\(|require\()"([^"]+)"/g)].map((m) => m[1]!);
      expect(specifiers.filter((s) => /pkcs11js|\/module\.ts$|\/session\.ts$/.test(s))).toEqual([]);
      for (const s of specifiers) if (s.startsWith(".")) walk(join(dirname(file), s));
    };
    walk(join(import.meta.dir, "../../src/signer/verify.ts"));
    expect(seen.size).toBeGreaterThan(1);
  });
});
