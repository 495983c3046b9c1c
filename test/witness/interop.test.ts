/**
 * Interoperability on published bytes: the signed-note and tlog-witness examples, the Go
 * sumdb/note key and note, and a real cosignature/v1 of a public witness (remora.n621.de) on a
 * real CT log checkpoint, checked by ato's parser and verifier; ato's own cosignature checked
 * by OpenSSL alone.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointBody, parseCheckpointBody, parseSignedNote } from "../../src/evidence/index.ts";
import { hashFromBase64 } from "../../src/tree/index.ts";
import { spkiToPem } from "../../src/signer/index.ts";
import {
  TYPE_COSIGNATURE_V1, cosign, cosignatureLine, cosignedMessage, ed25519Spki, formatAddCheckpoint, formatVerifierKey,
  initWitness, matchesKey, parseAddCheckpoint, parseVerifierKey, verifyCosignature, verifyEd25519,
} from "../../src/witness/index.ts";
import { opensslVerify } from "../signer/_openssl.ts";

const tmp = mkdtempSync("/tmp/ato-witness-interop-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// golang.org/x/mod/sumdb/note, note_test.go and its package documentation.
const PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_NOTE = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// A checkpoint of the arche2025h1 CT log with the cosignatures public witnesses gave it, and
// the verifier key remora.n621.de publishes (type 0x04).
const REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
const ARCHE = [
  "arche2025h1.staging.ct.transparency.dev",
  "1432088532",
  "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=",
  "",
  "— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=",
  "— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=",
  "— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==",
  "— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==",
  "— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==",
  "— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==",
  "",
].join("\n");

// The example request body of c2sp.org/tlog-witness.
const SPEC_REQUEST = [
  "old 20852014",
  "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
  "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=",
  "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=",
  "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=",
  "",
  "example.com/behind-the-sofa",
  "20852163",
  "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
  "",
  "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=",
  "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=",
  "",
].join("\n");

describe("published examples", () => {
  test("the Go sumdb/note verifier key parses, and its Ed25519 note signature verifies", () => {
    const k = parseVerifierKey(PETER_VKEY);
    expect(k.name).toBe("PeterNeumann");
    expect(formatVerifierKey(k.name, k.type, k.publicKey)).toBe(PETER_VKEY);
    const { text, signatures } = parseSignedNote(PETER_NOTE);
    expect(matchesKey(k, signatures[0]!)).toBe(true);
    expect(verifyEd25519(k.publicKey, new TextEncoder().encode(text), signatures[0]!.signature)).toBe(true);
    expect(verifyEd25519(k.publicKey, new TextEncoder().encode(text.replace("answer", "Answer")), signatures[0]!.signature)).toBe(false);
  });

  test("a public witness's real cosignature/v1 verifies with its published key; its timestamp is read; a changed size fails", () => {
    const k = parseVerifierKey(REMORA_VKEY);
    expect(k.type).toBe(TYPE_COSIGNATURE_V1);
    const { text, signatures } = parseSignedNote(ARCHE);
    expect(parseCheckpointBody(text).size).toBe(1432088532);
    const mine = signatures.filter((s) => matchesKey(k, s));
    expect(mine).toHaveLength(1); // the other witnesses' lines are not this key's: ignored
    const ok = verifyCosignature(k, text, mine[0]!);
    expect(ok).toEqual({ ok: true, timestamp: expect.any(Number) });
    if (ok.ok) expect(ok.timestamp).toBeGreaterThan(1_700_000_000);
    expect(verifyCosignature(k, text.replace("1432088532", "1432088533"), mine[0]!).ok).toBe(false);
  });

  test("the spec's example add-checkpoint body parses and formats back to the same bytes", () => {
    const r = parseAddCheckpoint(SPEC_REQUEST);
    expect(r.oldSize).toBe(20852014);
    expect(r.proof).toHaveLength(4);
    expect(parseCheckpointBody(parseSignedNote(r.note).text)).toMatchObject({ origin: "example.com/behind-the-sofa", size: 20852163 });
    expect(formatAddCheckpoint(r)).toBe(SPEC_REQUEST);
  });

  test("ato's checkpoint text is the tlog-checkpoint example's byte for byte", () => {
    const root = hashFromBase64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    expect(checkpointBody({ origin: "example.com/behind-the-sofa", size: 20852163, root })).toBe("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    expect(parseSignedNote(SPEC_REQUEST.slice(SPEC_REQUEST.indexOf("\n\n") + 2)).text).toBe(checkpointBody({ origin: "example.com/behind-the-sofa", size: 20852163, root }));
  });

  test("the cosigned message is the spec's example byte for byte", () => {
    const body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    expect(new TextDecoder().decode(cosignedMessage(body, 1679315147))).toBe("cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  });
});

describe("ato's cosignatures", () => {
  test("a cosignature made by an ato witness key verifies with ato and with OpenSSL alone", async () => {
    const key = initWitness(join(tmp, "w"), "witness.test/interop");
    const v = parseVerifierKey(key.vkey);
    expect(v.type).toBe(TYPE_COSIGNATURE_V1);
    const body = "ato/host/abc\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const sig = await cosign(key, body, 1_800_000_000);
    const line = cosignatureLine(sig);
    expect(line).toMatch(/^— witness\.test\/interop [A-Za-z0-9+/]+=*\n$/);
    const parsed = parseSignedNote(`${body}\n${line}`).signatures[0]!;
    expect(verifyCosignature(v, body, parsed)).toEqual({ ok: true, timestamp: 1_800_000_000 });
    const pem = join(tmp, "w.pem");
    writeFileSync(pem, spkiToPem(ed25519Spki(v.publicKey)));
    expect(opensslVerify("ed25519", pem, cosignedMessage(body, 1_800_000_000), parsed.signature.subarray(8), tmp).ok).toBe(true);
    expect(opensslVerify("ed25519", pem, cosignedMessage(body, 1_800_000_001), parsed.signature.subarray(8), tmp).ok).toBe(false);
    key.close();
  });
});
