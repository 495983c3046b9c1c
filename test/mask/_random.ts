/**
 * A seeded PRNG for property tests, so a failure reproduces: every test names its seed, and
 * ATO_TEST_SEED=<n> bun test test/mask reruns with that seed.
 */
export const SEED = Number(process.env.ATO_TEST_SEED ?? 0x5eed_a70);

/** mulberry32: small, fast, and good enough to pick test inputs. */
export function prng(seed: number): Random {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

export interface Random {
  next(): number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  bytes(n: number): Uint8Array;
}
