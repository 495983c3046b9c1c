/**
 * The witness server over real HTTP on loopback: what it cosigns, and each bad input with the
 * status c2sp.org/tlog-witness gives it, changing no state. State survives a reopen; a
 * corrupt state stops the start; concurrent requests for one log cannot both be cosigned.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSignedNote } from "../../src/evidence/index.ts";
import { base64 } from "../../src/tree/index.ts";
import {
  MAX_BODY, Witness, WitnessState, initWitness, parseLogSpec, parseVerifierKey, serveWitness, verifyCosignature, witnessMetrics,
  type WitnessServer,
} from "../../src/witness/index.ts";
import { thrownAtoError } from "../support/errors.ts";
import { TestLog } from "./_log.ts";

const tmp = mkdtempSync("/tmp/ato-witness-server-");
const stateDir = join(tmp, "state");
const log = new TestLog("ato/test-host/log-a", 5);
let server: WitnessServer;
let vkey: ReturnType<typeof parseVerifierKey>;
let state: WitnessState;
let witnessFor: Witness;

beforeAll(() => {
  const key = initWitness(stateDir, "witness.test/w1");
  vkey = parseVerifierKey(key.vkey);
  state = WitnessState.open(stateDir);
  const logs = parseLogSpec(`${log.origin}=${log.writePem(join(tmp, "log.pem"))}`);
  const witness = new Witness(key, logs, state);
  witnessFor = witness;
  server = serveWitness(witness, witnessMetrics(() => logs.size, () => state.size), "127.0.0.1:0");
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/add-checkpoint`, { method: "POST", body, headers });

async function expectStatus(body: string | Uint8Array, status: number): Promise<Response> {
  const before = stateFiles();
  const r = await post(body);
  expect(r.status).toBe(status);
  expect(stateFiles()).toEqual(before); // nothing changed on disk
  return r;
}

function stateFiles(): Record<string, string> {
  const dir = join(stateDir, "logs");
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

describe("add-checkpoint", () => {
  test("a first checkpoint (old 0) is cosigned; the answer is a cosignature/v1 line that verifies", async () => {
    const r = await post(log.request(0));
    expect(r.status).toBe(200);
    const body = await r.text();
    const note = parseSignedNote(`${log.note()}${body}`);
    const text = note.text;
    const mine = note.signatures.find((s) => s.keyName === vkey.name)!;
    expect(verifyCosignature(vkey, text, mine).ok).toBe(true);
    expect(state.get(log.origin)?.size).toBe(5);
  });

  test("a larger tree with a proof from the size cosigned is cosigned; the state is on disk", async () => {
    log.grow(8);
    expect((await post(log.request(5))).status).toBe(200);
    const reopened = WitnessState.open(stateDir).get(log.origin)!;
    expect(reopened.size).toBe(13);
    expect(base64(reopened.root)).toBe(base64(log.root()));
  });

  test("the same checkpoint again (old = size, no proof) is cosigned again", async () => {
    expect((await post(log.request(13))).status).toBe(200);
  });

  test("a wrong old size gets 409 with the size cosigned, as text/x.tlog.size", async () => {
    log.grow(2);
    const r = await expectStatus(log.request(5), 409);
    expect(r.headers.get("content-type")).toBe("text/x.tlog.size");
    expect(await r.text()).toBe("13\n");
    const zero = await expectStatus(log.request(0), 409);
    expect(await zero.text()).toBe("13\n");
  });

  test("a smaller tree than the one cosigned: 409 (its old size cannot match) and 400 (old above its size)", async () => {
    expect(await (await expectStatus(log.request(10, 10), 409)).text()).toBe("13\n");
    await expectStatus(`old 13\n\n${log.note(10)}`, 400);
  });

  test("the same size with another root, signed by the log's own key (a fork): 409; a larger fork: 422", async () => {
    const fork = log.fork(10, 13, "fork ");
    await expectStatus(`old 13\n\n${fork.note(13)}`, 409);
    fork.grow(4);
    const proof = fork.proof(13);
    await expectStatus(`old 13\n${proof.map((h) => `${base64(h)}\n`).join("")}\n${fork.note()}`, 422);
  });

  test("a bad consistency proof: 422", async () => {
    const proof = log.proof(13);
    proof[0] = proof[1]!;
    const body = `old 13\n${proof.map((h) => `${base64(h)}\n`).join("")}\n${log.note()}`;
    await expectStatus(body, 422);
    await expectStatus(`old 13\n\n${log.note()}`, 422); // no proof at all
  });

  test("an unknown origin: 404; a note signed by another key: 403", async () => {
    const stranger = new TestLog("ato/elsewhere/log-z", 3);
    await expectStatus(stranger.request(0), 404);
    const forged = new TestLog(log.origin, 15, "");
    await expectStatus(forged.request(13), 403);
  });

  test("malformed bodies: 400", async () => {
    for (const body of ["", "old 13\n", "old 013\n\n" + log.note(), "new 13\n\n" + log.note(), `old 13\nnot-base64\n\n${log.note()}`,
      `old 13\n\n${log.note().replace("\n\n", "\n")}`, `old 13\n\nonly one line\n\n— k AAAAAAA=\n`, `old 13\n${"PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64)}\n${log.note()}`]) {
      await expectStatus(body, 400);
    }
    await expectStatus(Uint8Array.of(0x6f, 0x6c, 0x64, 0x20, 0xff, 0xfe, 0x0a, 0x0a), 400);
  });

  test("an oversized body: 413, with or without a Content-Length that says so", async () => {
    await expectStatus("x".repeat(MAX_BODY + 1), 413);
    const stream = new ReadableStream({ start(c) { for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(MAX_BODY / 2)); c.close(); } });
    const before = stateFiles();
    const r = await fetch(`${server.url}/add-checkpoint`, { method: "POST", body: stream });
    expect(r.status).toBe(413);
    expect(stateFiles()).toEqual(before);
  });

  test("a body that stops arriving: 408 after the time-out, nothing changed", async () => {
    const slow = serveWitness(witnessFor, witnessMetrics(() => 1, () => state.size), "127.0.0.1:0", { bodyTimeoutMs: 300 });
    const before = stateFiles();
    try {
      let answer = "";
      const socket = await Bun.connect({
        hostname: "127.0.0.1", port: slow.port,
        socket: { data(_s, d) { answer += d.toString(); } },
      });
      socket.write(`POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nold 13\n`);
      const t0 = Date.now();
      while (!answer.includes("\r\n\r\n") && Date.now() - t0 < 5000) await Bun.sleep(20);
      socket.end();
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(stateFiles()).toEqual(before);
    } finally {
      await slow.stop();
    }
  });

  test("other methods and paths: 405 and 404; /metrics counts cosignatures and refusals by reason", async () => {
    expect((await fetch(`${server.url}/add-checkpoint`)).status).toBe(405);
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
    const m = await (await fetch(`${server.url}/metrics`)).text();
    expect(m).toMatch(/^ato_witness_cosignatures_total 3$/m);
    expect(m).toMatch(/^ato_witness_logs 1$/m);
    for (const reason of ["conflict", "bad_proof", "unknown_log", "bad_signature", "malformed", "too_large", "old_size_too_large"]) {
      expect(m).toMatch(new RegExp(`^ato_witness_refusals_total\\{reason="${reason}"\\} [1-9]`, "m"));
    }
  });

  test("two concurrent requests from the same old size for different trees: exactly one is cosigned", async () => {
    const a = log.request(13, 14);
    const b = log.request(13, 15);
    const [ra, rb] = await Promise.all([post(a), post(b)]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
  });
});

describe("state", () => {
  test("a corrupt state file stops the start with CORRUPT; a leftover temporary file is ignored", async () => {
    const dir = join(tmp, "corrupt");
    initWitness(dir, "witness.test/w2").close();
    const s = WitnessState.open(dir);
    await s.put({ origin: "o", size: 3, root: log.root(3), timestamp: 1 });
    const file = readdirSync(join(dir, "logs"))[0]!;
    writeFileSync(join(dir, "logs", `${file}.tmp`), "half a wri");
    expect(WitnessState.open(dir).get("o")?.size).toBe(3);
    writeFileSync(join(dir, "logs", file), '{"v":1,"origin":"o","size":3,"root":"AAAA"');
    expect(thrownAtoError(() => WitnessState.open(dir))?.code).toBe("CORRUPT");
  });
});
