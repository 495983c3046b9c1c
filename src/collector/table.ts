/**
 * What has already been reported for each flow, kept in flat typed arrays: an open-addressing
 * hash table (linear probing) keyed by the raw 48-byte struct flow_key.
 *
 * Why not a Map<string, …>: at a million flows, a hex key string and a counts object per flow
 * per cycle made the collector's cost grow faster than the flow count (garbage collection over
 * a large heap) and its memory ~2 KiB per flow. Here a cycle allocates nothing per flow, the
 * table costs 129 bytes per slot (184 to 369 bytes per flow, by how full it is), and every
 * lookup compares the whole key, so two flows can never share a baseline by a hash collision.
 *
 * Counts are Numbers: exact up to 2^53 packets or bytes per flow (9 PB), far beyond a flow.
 * Kernel timestamps are Numbers too, converted the same way every time, so equal nanoseconds
 * compare equal (exact to 104 days of uptime, 2 ns to 208).
 */

/** struct flow_key is 48 bytes: 12 little-endian 32-bit words. */
export const KEY_WORDS = 12;

const EMPTY = 0, USED = 1, DELETED = 2;
/** Grow (or rebuild without tombstones) beyond this share of slots taken. */
const MAX_LOAD = 0.7;

type Columns = {
  packets: Float64Array; bytes: Float64Array; fragments: Uint32Array;
  readPackets: Float64Array; readBytes: Float64Array; readFragments: Uint32Array;
  firstSeen: Float64Array; lastSeen: Float64Array; exportedAt: Float64Array;
  tcpFlags: Uint32Array; timingFlags: Uint32Array; spikes: Uint32Array; gen: Uint32Array;
};
const F64 = ["packets", "bytes", "readPackets", "readBytes", "firstSeen", "lastSeen", "exportedAt"] as const;
const U32 = ["fragments", "readFragments", "tcpFlags", "timingFlags", "spikes", "gen"] as const;

function columns(capacity: number): Columns {
  const c = {} as Record<string, Float64Array | Uint32Array>;
  for (const n of F64) c[n] = new Float64Array(capacity);
  for (const n of U32) c[n] = new Uint32Array(capacity);
  return c as Columns;
}

export class FlowTable implements Columns {
  private capacity: number;
  private keys: Uint32Array;
  private state: Uint8Array;
  /** Counts of the flow's last record (what the evidence holds of it). */
  packets!: Float64Array;
  bytes!: Float64Array;
  fragments!: Uint32Array;
  /** Counts when the map was last read (what the metrics hold of it): at or above the recorded ones. */
  readPackets!: Float64Array;
  readBytes!: Float64Array;
  readFragments!: Uint32Array;
  /** The entry's first_seen and last_seen (kernel ns) when it was last read: a new first_seen is a new entry. */
  firstSeen!: Float64Array;
  lastSeen!: Float64Array;
  /** Kernel ns of the flow's last record (its first_seen before one): the active timeout runs from here. */
  exportedAt!: Float64Array;
  tcpFlags!: Uint32Array;
  timingFlags!: Uint32Array;
  spikes!: Uint32Array;
  /** The collection generation that last saw the flow in the map (see sweep). */
  gen!: Uint32Array;
  private live = 0;
  private tombstones = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = 1 << Math.max(4, Math.ceil(Math.log2(initialCapacity)));
    this.keys = new Uint32Array(this.capacity * KEY_WORDS);
    this.state = new Uint8Array(this.capacity);
    Object.assign(this, columns(this.capacity));
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
    if (hint >= 0 && hint < this.capacity && this.state[hint] === USED && this.sameKey(hint, words, at)) return hint;
    return this.find(words, at);
  }

  /** The key's slot, inserted with zero counts when absent (see `inserted`). A later insert may move slots. */
  upsert(words: Uint32Array, at: number): number {
    if (this.live + this.tombstones + 1 > this.capacity * MAX_LOAD) this.rebuild();
    const mask = this.capacity - 1;
    let reuse = -1;
    this.inserted = false;
    for (let s = hashKey(words, at) & mask; ; s = (s + 1) & mask) {
      const st = this.state[s]!;
      if (st === EMPTY) {
        if (reuse < 0) reuse = s;
        else this.tombstones--;
        this.state[reuse] = USED;
        this.keys.set(words.subarray(at, at + KEY_WORDS), reuse * KEY_WORDS);
        this.clear(reuse);
        this.live++;
        this.inserted = true;
        return reuse;
      }
      if (st === DELETED) { if (reuse < 0) reuse = s; continue; }
      if (this.sameKey(s, words, at)) return s;
    }
  }

  /** Whether the last upsert inserted its key. */
  inserted = false;

  /** Zero counts and times in a slot (a new flow, or an entry the kernel made anew). */
  clear(s: number): void {
    for (const n of F64) this[n][s] = 0;
    for (const n of U32) this[n][s] = 0;
  }

  /** Copies the raw flow_key of a slot into out[at..at+12). */
  copyKey(slot: number, out: Uint32Array, at: number): void {
    const k = this.keys, o = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) out[at + i] = k[o + i]!;
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

  /** Slots of flows not seen in generation `gen` (gone from the map, removed by someone else). */
  unseen(gen: number): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.capacity; s++) if (this.state[s] === USED && this.gen[s] !== gen) out.push(s);
    return out;
  }

  /** Forgets every flow not seen in generation `gen`: gone from the map, removed by someone else. */
  sweep(gen: number): number {
    let removed = 0;
    for (let s = 0; s < this.capacity; s++) {
      if (this.state[s] === USED && this.gen[s] !== gen) { this.remove(s); removed++; }
    }
    // Shrinks a table that a burst of flows grew, once most of them are gone.
    if (this.capacity > 1024 && this.live < this.capacity * MAX_LOAD / 8) this.rebuild();
    return removed;
  }

  private sameKey(slot: number, words: Uint32Array, at: number): boolean {
    const k = this.keys, o = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (k[o + i] !== words[at + i]) return false;
    return true;
  }

  /** Re-inserts the live flows into a table they fill to at most two thirds of MAX_LOAD: a full table doubles. */
  private rebuild(): void {
    const old: Columns = { ...this.snapshot() };
    const oldCapacity = this.capacity, oldKeys = this.keys, oldState = this.state;
    let capacity = 16;
    while (capacity * MAX_LOAD < (this.live + 1) * 1.5) capacity *= 2;
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    this.state = new Uint8Array(capacity);
    Object.assign(this, columns(capacity));
    this.live = 0;
    this.tombstones = 0;
    for (let s = 0; s < oldCapacity; s++) {
      if (oldState[s] !== USED) continue;
      const n = this.upsert(oldKeys, s * KEY_WORDS);
      for (const c of F64) this[c][n] = old[c][s]!;
      for (const c of U32) this[c][n] = old[c][s]!;
    }
  }

  private snapshot(): Columns {
    const c = {} as Record<string, Float64Array | Uint32Array>;
    for (const n of [...F64, ...U32]) c[n] = this[n];
    return c as Columns;
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
