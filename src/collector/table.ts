/**
 * What has already been reported for each flow, kept in flat typed arrays: an open-addressing
 * hash table (linear probing) keyed by the raw 48-byte struct flow_key.
 *
 * Why not a Map<string, …>: at a million flows, a hex key string and a counts object per flow
 * per cycle made the collector's cost grow faster than the flow count (garbage collection over
 * a large heap) and its memory ~2 KiB per flow. Here a cycle allocates nothing per flow, the
 * table costs 153 bytes per slot (219 to 437 bytes per flow, by how full it is), and every
 * lookup compares the whole key, so two flows can never share a baseline by a hash collision.
 *
 * Counts are Numbers: exact up to 2^53 packets or bytes per flow (9 PB), far beyond a flow.
 * Kernel timestamps are Numbers too, converted the same way every time, so equal nanoseconds
 * compare equal (exact to 104 days of uptime, 2 ns to 208).
 */
import { adviseHugePages } from "../../ffi/libc.ts";
import { AtoError } from "../errors.ts";

/** struct flow_key is 48 bytes: 12 little-endian 32-bit words. */
export const KEY_WORDS = 12;

const EMPTY = 0, USED = 1, DELETED = 2;
/** Grow (or rebuild without tombstones) beyond this share of slots taken. */
const MAX_LOAD = 0.7;

/**
 * A slot's values, one row of ROW Numbers in `row` (all exact as doubles: counts below 2^53,
 * flags and generations below 2^32). One row per flow, not one array per field: a cycle
 * touches most fields of each flow it reads, and at a million flows a field per array was a
 * cache miss per field.
 */
export const R_PACKETS = 0, R_BYTES = 1, R_FRAGMENTS = 2, R_READ_PACKETS = 3, R_READ_BYTES = 4, R_READ_FRAGMENTS = 5;
export const R_FIRST_SEEN = 6, R_LAST_SEEN = 7, R_EXPORTED_AT = 8, R_TCP_FLAGS = 9, R_TIMING_FLAGS = 10, R_SPIKES = 11, R_GEN = 12;
export const ROW = 13;

export class FlowTable {
  /** Slots (a power of two); keys and state are read in place by the collector's batch scan (scan.ts). */
  capacity: number;
  keys: Uint32Array;
  /** Per slot: 0 empty, 1 used, 2 deleted. */
  state: Uint8Array;
  /**
   * Per slot (at slot * ROW): the counts of the flow's last record (R_PACKETS, R_BYTES,
   * R_FRAGMENTS: what the evidence holds of it); the counts when the map was last read
   * (R_READ_*: what the metrics hold, at or above the recorded ones); the entry's first_seen
   * and last_seen (kernel ns) when last read (a new first_seen is a new entry); R_EXPORTED_AT,
   * kernel ns of its last record (its first_seen before one: the active timeout runs from
   * here); its TCP flags, timing flags and spikes; R_GEN, the collection generation that last
   * saw it in the map (see sweep).
   */
  row: Float64Array;
  /**
   * How many times the table was rebuilt (slots moved). Nothing else moves a live key: an insert
   * takes an empty or deleted slot, `clear` keeps the key, and only `remove` frees one. So a slot
   * found for a key while the epoch is e still holds that key while the epoch is e, unless the key
   * was removed since (the collector removes only after its read loop has written every chunk).
   */
  epoch = 0;
  private live = 0;
  private tombstones = 0;
  /** While set (trackMoves), the last rebuild's new slot of every old slot (-1: none there). */
  private moved: Int32Array | undefined;
  private tracking = false;

  constructor(initialCapacity = 1024) {
    this.capacity = 1 << Math.max(4, Math.ceil(Math.log2(initialCapacity)));
    this.keys = new Uint32Array(this.capacity * KEY_WORDS);
    this.state = new Uint8Array(this.capacity);
    this.row = new Float64Array(this.capacity * ROW);
    adviseHugePages(this.keys); // read at random slots: at 1 M flows, ~0.3 µs a flow less in TLB misses
    adviseHugePages(this.row);
  }

  get size(): number {
    return this.live;
  }

  /** The slot holding the key at words[at..at+12), or -1. */
  find(words: Uint32Array, at: number): number {
    const mask = this.capacity - 1;
    for (let s = hashKey(words, at) & mask; ; s = (s + 1) & mask) {
      const st = this.state[s]!;
      if (st === EMPTY) return -1;
      if (st === USED && this.sameKey(s, words, at)) return s;
    }
  }

  /** Whether slot `s` holds the key at words[at..] (a slot kept from an earlier read). */
  holds(s: number, words: Uint32Array, at: number): boolean {
    return s >= 0 && s < this.capacity && this.state[s] === USED && this.sameKey(s, words, at);
  }

  /** The slot holding the key, trying `hint` first (a slot it had earlier in the cycle: a rebuild may have moved it), or -1. */
  findFrom(hint: number, words: Uint32Array, at: number): number {
    if (this.holds(hint, words, at)) return hint;
    return this.find(words, at);
  }

  /** The key's slot, inserted with zero counts when absent (see `inserted`). A later insert may move slots. */
  upsert(words: Uint32Array, at: number): number {
    const s = this.insertAbsent(words, at);
    this.inserted = s >= 0;
    if (s < 0) return ~s;
    this.clear(s);
    return s;
  }

  /**
   * Inserts the key at words[at..] and returns its slot, when the table does not hold it; returns
   * ~slot (negative; nothing changed) of the slot holding it when it does. The new slot's row is
   * left as it was, for the caller to write whole. A caller that keeps slots across inserts makes
   * room first (`fits`, `reserve`): then the insert does not rebuild the table.
   */
  insertAbsent(words: Uint32Array, at: number): number {
    if (!this.fits(1)) this.rebuild();
    const mask = this.capacity - 1, k = this.keys, state = this.state;
    let reuse = -1;
    for (let s = hashKey(words, at) & mask; ; s = (s + 1) & mask) {
      const st = state[s]!;
      if (st === EMPTY) {
        if (reuse < 0) reuse = s;
        else this.tombstones--;
        state[reuse] = USED;
        const o = reuse * KEY_WORDS; // unrolled: no subarray object, no loop step while this runs uncompiled
        k[o] = words[at]!; k[o + 1] = words[at + 1]!; k[o + 2] = words[at + 2]!; k[o + 3] = words[at + 3]!;
        k[o + 4] = words[at + 4]!; k[o + 5] = words[at + 5]!; k[o + 6] = words[at + 6]!; k[o + 7] = words[at + 7]!;
        k[o + 8] = words[at + 8]!; k[o + 9] = words[at + 9]!; k[o + 10] = words[at + 10]!; k[o + 11] = words[at + 11]!;
        this.live++;
        return reuse;
      }
      if (st === DELETED) { if (reuse < 0) reuse = s; continue; }
      if (this.sameKey(s, words, at)) return ~s;
    }
  }

  /** Deleted slots not reused yet (they count against the load: see `fits`). */
  get tombstoneCount(): number {
    return this.tombstones;
  }

  /** The share of slots that may be taken (live + deleted) before a rebuild, as a count. */
  get loadLimit(): number {
    return this.capacity * MAX_LOAD;
  }

  /**
   * After keys were inserted into `keys`/`state` outside this class (asm/flow_new.asm, by insertAbsent's
   * rules, within `fits`): the live and deleted counts it ended at.
   */
  insertedOutside(live: number, tombstones: number): void {
    this.live = live;
    this.tombstones = tombstones;
  }

  /** Whether `n` more keys fit within MAX_LOAD without a rebuild. */
  fits(n: number): boolean {
    return this.live + this.tombstones + n <= this.capacity * MAX_LOAD;
  }

  /**
   * Makes room for `n` more keys within MAX_LOAD, rebuilding once now (a batch's new flows inserted
   * one by one would rebuild at every doubling, each time re-inserting all before them).
   */
  reserve(n: number): void {
    if (!this.fits(n)) this.rebuild(this.live + n);
  }

  /** Whether the last upsert inserted its key. */
  inserted = false;

  /** Zero counts and times in a slot (a new flow, or an entry the kernel made anew). */
  clear(s: number): void {
    this.row.fill(0, s * ROW, s * ROW + ROW);
  }

  /** The raw flow_key of a slot, as bytes (a copy). */
  keyBytes(slot: number): Uint8Array {
    return new Uint8Array(this.keys.slice(slot * KEY_WORDS, (slot + 1) * KEY_WORDS).buffer);
  }

  remove(slot: number): void {
    if (this.state[slot] !== USED) return;
    this.state[slot] = DELETED;
    this.live--;
    this.tombstones++;
  }

  /**
   * Forgets every flow not seen in generation `gen`: gone from the map, removed by someone else. `before`
   * sees each such slot first, its row intact (one pass over the table a cycle, not one to find them and one to forget them).
   */
  sweep(gen: number, before?: (slot: number) => void): number {
    let removed = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.state[s] === USED && this.row[s * ROW + R_GEN] !== gen) { before?.(s); this.remove(s); removed++; }
    }
    // Shrinks a table that a burst of flows grew, once most of them are gone.
    if (this.capacity > 1024 && this.live < this.capacity * MAX_LOAD / 8) this.rebuild();
    return removed;
  }

  /**
   * Whether a rebuild keeps where it moved each slot, for `remap`: on while a caller keeps slots of many
   * inserts (the collector's start, whose slots are the first read's hints), off (and forgotten) otherwise.
   */
  trackMoves(on: boolean): void {
    this.tracking = on;
    if (!on) this.moved = undefined;
  }

  /** Slots taken before the last rebuild (slots[0..n), each a live key's) moved to where that rebuild put their keys. */
  remap(slots: Int32Array, n: number): void {
    const moved = this.moved;
    if (!moved) throw new AtoError("FlowTable.remap without a tracked rebuild", "INTERNAL");
    for (let i = 0; i < n; i++) slots[i] = slots[i]! >= 0 ? (moved[slots[i]!] ?? -1) : -1; // a slot outside the old table: no hint
  }

  private sameKey(slot: number, words: Uint32Array, at: number): boolean {
    const k = this.keys, o = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (k[o + i] !== words[at + i]) return false;
    return true;
  }

  /**
   * Re-inserts the live flows into a table they fill to at most two thirds of MAX_LOAD (a full
   * table doubles), and that holds `flows` within MAX_LOAD.
   */
  private rebuild(flows = 0): void {
    const oldCapacity = this.capacity, oldKeys = this.keys, oldState = this.state, oldRow = this.row;
    this.epoch++;
    let capacity = 16;
    while (capacity * MAX_LOAD < Math.max((this.live + 1) * 1.5, flows)) capacity *= 2;
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    this.state = new Uint8Array(capacity);
    this.row = new Float64Array(capacity * ROW);
    adviseHugePages(this.keys); // before the rehash below touches them (pages already touched keep 4 KiB)
    adviseHugePages(this.row);
    this.live = 0;
    this.tombstones = 0;
    const moved = this.tracking ? new Int32Array(oldCapacity).fill(-1) : undefined;
    for (let s = 0; s < oldCapacity; s++) {
      if (oldState[s] !== USED) continue;
      const n = this.upsert(oldKeys, s * KEY_WORDS);
      this.row.set(oldRow.subarray(s * ROW, s * ROW + ROW), n * ROW);
      if (moved) moved[s] = n;
    }
    this.moved = moved;
  }
}

/** 32-bit hash of a key (FNV-1a over words, then murmur3's finaliser to spread the low bits). */
function hashKey(w: Uint32Array, at: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < KEY_WORDS; i++) h = Math.imul(h ^ w[at + i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
