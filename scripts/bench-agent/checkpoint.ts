#!/usr/bin/env bun
/**
 * The cost of one count checkpoint, alone (after bash scripts/build.sh; SoftHSM Ed25519):
 *
 *  whole — a log as the agent opens it (group commit, a checkpoint per 1,000 lines, no timer)
 *    takes text records in appends of 250, a turn of the event loop after each (as the collector
 *    yields per chunk); every fourth append ends at a count checkpoint. The checkpoint's cost is
 *    what such an append takes beyond the others (medians, wall and CPU of this thread's process,
 *    the thread pool's fdatasync included as far as it ran meanwhile).
 *  pieces — the token's signature (C_SignInit + C_Sign), the check of it (a public key parsed per
 *    check beside one parsed once), and the checkpoint line (its data, canonical text, bytes and
 *    leaf hash) beside the same line through canonicalize(): each alone, interleaved rounds.
 *
 *   bun scripts/bench-agent/checkpoint.ts [--checkpoints 300] [--rounds 5] [--root DIR,DIR…] [--json]
 *
 * --root DIR,DIR…: the modules of these checkouts (this one and a build of main, say), measured in
 * the same process, round by round in turn, so the machine's load falls on each alike; pieces a
 * checkout does not have are left out.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { createToken } from "../../test/support/softhsm.ts";

const arg = (name: string, d: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1]! : d; };
const CHECKPOINTS = Number(arg("--checkpoints", "300")), ROUNDS = Number(arg("--rounds", "5"));
const ROOTS = arg("--root", `${import.meta.dir}/../..`).split(",");
const EVERY = 1000, APPEND = 250;

interface Checkout { root: string; log: any; signer: any; evidence: any; line: any; encode: any }
const checkouts: Checkout[] = [];
for (const root of ROOTS) {
  checkouts.push({
    root,
    log: await import(`${root}/src/log/index.ts`),
    signer: await import(`${root}/src/signer/index.ts`),
    evidence: await import(`${root}/src/evidence/index.ts`),
    line: await import(`${root}/src/log/checkpoint-line.ts`),
    encode: await import(`${root}/src/log/encode.ts`),
  });
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
const body = (i: number) => `{"bytes":9000,"dst":"198.19.0.0/24","family":4,"iface":"eth0","last_seen":"2026-12-01T00:00:00.000Z","packets":${i},"packets_total":${i},"proto":6,"reason":"active","src":"198.18.0.0/24","tcp_flags":24}`;

const token = await createToken({ keyType: "ed25519" });
const opts = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel };
const dirs: string[] = [];
const closers: (() => void)[] = [];
try {
  const load0 = loadavg()[0]!.toFixed(2);
  const stats = checkouts.map(() => ({ wall: { cp: [] as number[], plain: [] as number[] }, cpu: { cp: [] as number[], plain: [] as number[] }, times: {} as Record<string, number[]>, cpus: {} as Record<string, number[]> }));
  const pieces = checkouts.map((k) => piecesOf(k));
  for (let r = 0; r <= ROUNDS; r++) {
    for (let j = 0; j < checkouts.length; j++) {
      const k = checkouts[(r + j) % checkouts.length]!, st = stats[(r + j) % checkouts.length]!;
      await whole(k, st, r > 0); // round 0 warms up
      const ps = pieces[(r + j) % checkouts.length]!;
      for (const name in ps) {
        const f = ps[name]!, n = 200;
        if (r === 0) { for (let i = 0; i < 50; i++) f(); continue; }
        const c0 = cpuUs(), t0 = performance.now();
        for (let i = 0; i < n; i++) f();
        (st.times[name] ??= []).push((performance.now() - t0) * 1000 / n);
        (st.cpus[name] ??= []).push((cpuUs() - c0) / n);
      }
    }
  }
  const load = `${load0} -> ${loadavg()[0]!.toFixed(2)}`;
  const report = checkouts.map((k, j) => {
    const st = stats[j]!;
    const o: Record<string, number | string> = { root: k.root, checkpointWallUs: median(st.wall.cp) - median(st.wall.plain), checkpointCpuUs: median(st.cpu.cp) - median(st.cpu.plain), appendWallUs: median(st.wall.plain), appendCpuUs: median(st.cpu.plain), checkpoints: st.wall.cp.length };
    for (const name in st.times) { o[`${name} wall µs`] = median(st.times[name]!); o[`${name} CPU µs`] = median(st.cpus[name]!); }
    return o;
  });
  if (process.argv.includes("--json")) console.log(JSON.stringify({ checkouts: report, load }));
  else {
    for (const [j, o] of report.entries()) {
      console.log(`${o.root}: one count checkpoint ${(o.checkpointWallUs as number).toFixed(0)} µs wall, ${(o.checkpointCpuUs as number).toFixed(0)} µs CPU beyond an append of ${APPEND} records (${(o.appendWallUs as number).toFixed(0)} wall / ${(o.appendCpuUs as number).toFixed(0)} CPU); ${o.checkpoints} checkpoints, medians`);
      const st = stats[j]!;
      for (const name in st.times) console.log(`  ${name.padEnd(50)} ${median(st.times[name]!).toFixed(1).padStart(7)} µs wall ${median(st.cpus[name]!).toFixed(1).padStart(7)} µs CPU`);
    }
    console.log(`${ROUNDS} rounds, checkouts interleaved; load ${load}`);
  }
} finally {
  for (const c of closers) c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  token.cleanup();
}

/** One fresh log through CHECKPOINTS / ROUNDS count checkpoints: each append's wall and CPU, by whether it ended at one. */
async function whole(k: Checkout, st: { wall: { cp: number[]; plain: number[] }; cpu: { cp: number[]; plain: number[] } }, keep: boolean): Promise<void> {
  const dir = mkdtempSync("/tmp/ato-bench-checkpoint-");
  dirs.push(dir);
  const log = k.log.EvidenceLog.open({ auditDir: dir, signer: k.signer.openSigner(opts), checkpointEvery: EVERY, checkpointIntervalMs: 0, appendOnly: false, groupCommit: true, onWarning: () => {} });
  for (let checkpoints = 0; checkpoints < CHECKPOINTS / ROUNDS; ) {
    const room = log.roomBeforeCheckpoint(), n = Math.min(APPEND, room);
    const c0 = cpuUs(), t0 = performance.now();
    log.appendTexts("flow", n, body);
    const t = (performance.now() - t0) * 1000, c = cpuUs() - c0;
    const cp = n === room; // this append filled the room: the count checkpoint was signed in it
    if (cp) checkpoints++;
    if (keep && n === APPEND) { (cp ? st.wall.cp : st.wall.plain).push(t); (cp ? st.cpu.cp : st.cpu.plain).push(c); }
    await new Promise((res) => setImmediate(res)); // the collector yields per chunk: the held line may go out from the event loop
  }
  log.close();
}

/** Each piece of a checkpoint alone, as this checkout has it. */
function piecesOf(k: Checkout): Record<string, () => unknown> {
  const signer = k.signer.openSigner(opts);
  closers.push(() => signer.close());
  const spki = signer.publicKeySpkiDer();
  const text = new TextEncoder().encode(`ato/bench/0123456789abcdef\n1000000\n${"A".repeat(43)}=\n`);
  const sig = signer.sign(text);
  const frontier = Array.from({ length: 12 }, (_, i) => Buffer.alloc(32, i).toString("base64"));
  const signed = { ok: true, signature: sig, identity: { algorithm: "ed25519", keyName: "ato-bench", keyId: new Uint8Array(4), keyIdHex: "00000000", spkiDer: spki }, seconds: 0.0005 };
  const parts = { text: new TextDecoder().decode(text), signed, origin: "ato/bench/0123456789abcdef", root: new Uint8Array(32), segment: 1, prev: null, treeSize: 1_000_000, trigger: "count" };
  const ts = new Date().toISOString();
  const ps: Record<string, () => unknown> = {
    "token signature (C_SignInit + C_Sign)": () => signer.sign(text),
    "check, key parsed per check (verifySignature)": () => { if (!k.signer.verifySignature(spki, "ed25519", text, sig)) throw new Error("no"); },
  };
  if (k.signer.signatureVerifier) {
    const check = k.signer.signatureVerifier(spki, "ed25519");
    ps["check, key parsed once (signatureVerifier)"] = () => { if (!check(text, sig)) throw new Error("no"); };
  }
  // The line: this checkout's way, and canonicalize() + encodeObjects + copies (main's way) when it has another.
  const hashes = frontier.map((f) => new Uint8Array(Buffer.from(f, "base64")));
  if (k.line.checkpointDataText) {
    ps["line: data, checkpointDataText, encodeLine"] = () => k.encode.encodeLine("checkpoint", k.line.checkpointDataText(k.line.checkpointData({ ...parts, frontier })), "internal", 1_000_000, ts);
    ps["line: data, canonicalize, encodeObjects + copies"] = () => { const e = k.encode.encodeObjects("checkpoint", [k.line.checkpointData({ ...parts, frontier })], "internal", 1_000_000, ts); return [e.text.slice(1), e.leaves.slice(0, 32)]; };
  } else {
    ps["line: data, canonicalize, encodeObjects + copies"] = () => { const e = k.encode.encodeObjects("checkpoint", [k.line.checkpointData({ ...parts, frontier: hashes })], "internal", 1_000_000, ts); return [e.text.slice(1), e.leaves.slice(0, 32)]; };
  }
  return ps;
}
