/**
 * The floor for a collector cycle: the same work as Collector.cycle() with every flow grown,
 * written as tightly as Bun allows and nothing else — read the map with the same batch
 * lookups, find each flow once in a flat open-addressing table (packets compared as Numbers),
 * mask IPv4 to /24 in place, write the same record shape (canonical member order, seq, ts)
 * into one buffer, a leaf hash per line (Bun.SHA256, in place) folded into a Merkle
 * frontier, one write(2) per 256 records, and every 1,000 records a checkpoint: the root
 * signed by the same HSM signer, then fdatasync. No masking policy, ports, tokens, seals,
 * interface names, IPv6, export hook, metrics or error paths: what the product adds is the
 * gap between it and this.
 *
 * `upTo` stops the floor after a stage, to say what the floor is made of (bench-agent
 * --floor-stages): "read" (the batch reads alone), "lookup" (+ the table), "bytes" (+ the
 * records' bytes), "hash" (+ leaf hashes and the frontier), "write" (+ one write(2) per 256),
 * "checkpoint" (+ sign and fdatasync per 1,000: the whole floor).
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import type { CheckpointSigner } from "../../src/signer/index.ts";
import type { FlowMapReader } from "../../src/kernel/index.ts";

const KEY_WORDS = 12;
const CHUNK = 256;
const CHECKPOINT_EVERY = 1000;
const enc = new TextEncoder();

export const FLOOR_STAGES = ["read", "lookup", "bytes", "hash", "write", "checkpoint"] as const;
export type FloorStage = (typeof FLOOR_STAGES)[number];
/** A stage's place in FLOOR_STAGES: the floor compares stages by name, so the list can change order. */
const at = (s: FloorStage): number => FLOOR_STAGES.indexOf(s);

export class TightCycle {
  private cap = 1 << 21;
  private keys = new Uint32Array(this.cap * KEY_WORDS);
  private used = new Uint8Array(this.cap);
  private packets = new Float64Array(this.cap);
  private readonly buf = new Uint8Array(1 << 20);
  private pos = 1;
  private frontier: Uint8Array[] = [];
  private size = 0;
  private readonly fd: number;
  /** The last stage this floor runs (an index into FLOOR_STAGES). */
  private readonly stage: number;

  constructor(private readonly reader: FlowMapReader, path: string, private readonly signer: CheckpointSigner, upTo: FloorStage = "checkpoint") {
    this.fd = openSync(path, "a");
    this.stage = FLOOR_STAGES.indexOf(upTo);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Takes the map as it is (the collector's start); returns the flows read. */
  start(): number {
    let n = 0;
    for (const b of this.reader.batches()) for (let i = 0; i < b.n; i++, n++) this.packets[this.slot(b.keyWords, i * KEY_WORDS)] = b.packets(i);
    return n;
  }

  /** One cycle: a record for every flow that grew. Returns the records written. */
  cycle(): number {
    const ts = new Date().toISOString();
    const tsBytes = enc.encode(`,"ts":"${ts}","v":1}\n`);
    const head = enc.encode(`{"class":"internal","data":{"bytes":`);
    const prefix = enc.encode(`"${ts.slice(0, 20)}`);
    let records = 0, inChunk = 0;
    const stage = this.stage, checkpoints = stage >= at("checkpoint");
    for (const b of this.reader.batches()) {
      const kw = b.keyWords, kb = b.keys;
      for (let i = 0; i < b.n; i++) {
        if (stage === at("read")) { if (b.packets(i) > 0) records++; continue; }
        const s = this.slot(kw, i * KEY_WORDS);
        const p = b.packets(i), grown = p - this.packets[s]!;
        if (grown <= 0) continue;
        if (stage === at("lookup")) { this.packets[s] = p; records++; continue; }
        const bytes = b.bytes(i);
        const start = this.pos;
        this.put(head); this.num(bytes);
        this.lit(`,"bytes_total":`); this.num(bytes);
        this.lit(`,"dst":"`); this.v4(kb, i * 48 + 16); this.lit(`","family":4,"first_seen":`); this.time(prefix, b.lastSeenNs(i));
        this.lit(`,"iface":"lo","last_seen":`); this.time(prefix, b.lastSeenNs(i));
        this.lit(`,"packets":`); this.num(grown); this.lit(`,"packets_total":`); this.num(p);
        this.lit(`,"proto":6,"reason":"interval","src":"`); this.v4(kb, i * 48); this.lit(`","tcp_flags":0},"kind":"flow","seq":`);
        this.num(this.size); this.put(tsBytes);
        if (stage >= at("hash")) this.leaf(start, this.pos - 1);
        else this.size++;
        this.packets[s] = p;
        records++;
        if (++inChunk === CHUNK || this.size % CHECKPOINT_EVERY === 0) { this.flush(); inChunk = 0; }
        if (this.size % CHECKPOINT_EVERY === 0 && checkpoints) this.checkpoint();
      }
    }
    this.flush();
    return records;
  }

  /** buf[0] is a spare byte: a line's leaf-hash prefix goes in the byte before it (as the product's encoder does). */
  private flush(): void {
    if (this.pos > 1 && this.stage >= at("write")) writeSync(this.fd, this.buf, 1, this.pos - 1);
    this.pos = 1;
  }

  private checkpoint(): void {
    let root = this.frontier[this.frontier.length - 1]!;
    for (let i = this.frontier.length - 2; i >= 0; i--) root = this.node(this.frontier[i]!, root);
    const sig = this.signer.sign(enc.encode(`ato/bench\n${this.size}\n${Buffer.from(root).toString("base64")}\n`));
    this.lit(`{"kind":"checkpoint","sig":"${Buffer.from(sig).toString("base64")}"}\n`);
    this.flush();
    fdatasyncSync(this.fd);
  }

  /** RFC 9162 leaf hash of buf[start, end) (Bun.SHA256, the 0x00 prefix in the byte before) folded into the frontier. */
  private leaf(start: number, end: number): void {
    const saved = this.buf[start - 1]!;
    this.buf[start - 1] = 0;
    let node = Bun.SHA256.hash(this.buf.subarray(start - 1, end)) as Uint8Array;
    this.buf[start - 1] = saved;
    for (let s = this.size; s % 2 === 1; s = (s - 1) / 2) node = this.node(this.frontier.pop()!, node);
    this.frontier.push(node);
    this.size++;
  }

  private node(l: Uint8Array, r: Uint8Array): Uint8Array {
    NODE_IN.set(l, 1);
    NODE_IN.set(r, 33);
    return Bun.SHA256.hash(NODE_IN) as Uint8Array;
  }

  private slot(w: Uint32Array, at: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < KEY_WORDS; i++) h = Math.imul(h ^ w[at + i]!, 0x01000193);
    h ^= h >>> 15;
    const mask = this.cap - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      if (!this.used[s]) {
        this.used[s] = 1;
        for (let i = 0; i < KEY_WORDS; i++) this.keys[s * KEY_WORDS + i] = w[at + i]!;
        return s;
      }
      let same = true;
      for (let i = 0; i < KEY_WORDS; i++) if (this.keys[s * KEY_WORDS + i] !== w[at + i]) { same = false; break; }
      if (same) return s;
    }
  }

  private put(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private lit(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  private num(n: number): void {
    if (n < 10) { this.buf[this.pos++] = 48 + n; return; }
    let d = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) d++;
    let p = (this.pos += d);
    do { const q = Math.floor(n / 10); this.buf[--p] = 48 + n - q * 10; n = q; } while (n > 0);
  }

  /** a.b.c.0/24 from the first 4 bytes of an address slot. */
  private v4(b: Uint8Array, at: number): void {
    this.num(b[at]!); this.buf[this.pos++] = 46; this.num(b[at + 1]!); this.buf[this.pos++] = 46; this.num(b[at + 2]!);
    this.lit(".0/24");
  }

  /** The per-second prefix and three digits of milliseconds (the product takes them from the kernel clock offset). */
  private time(prefix: Uint8Array, ns: number): void {
    this.put(prefix);
    const ms = Math.floor(ns / 1e6) % 1000;
    this.buf[this.pos++] = 48 + Math.floor(ms / 100); this.buf[this.pos++] = 48 + (Math.floor(ms / 10) % 10); this.buf[this.pos++] = 48 + (ms % 10);
    this.lit(`Z"`);
  }
}

const NODE_IN = new Uint8Array(65);
NODE_IN[0] = 1;
