/**
 * Bit arithmetic on tree sizes and indices. Sizes go past 2^32, where JavaScript's bitwise
 * operators stop working, so these use plain arithmetic and stay exact up to 2^53.
 */

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

export function half(n: number): number {
  return Math.floor(n / 2);
}

/** The number of set bits: how many perfect subtrees a tree of `n` leaves is made of. */
export function popcount(n: number): number {
  let c = 0;
  for (let v = n; v > 0; v = half(v)) if (isOdd(v)) c++;
  return c;
}

/** The largest power of two strictly smaller than `n` (n ≥ 2): RFC 9162 §2.1.1's k. */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  for (let v = n; v > 1; v = half(v)) if (isOdd(v)) return false;
  return true;
}

export function assertSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer; got ${n}`);
}
