/** Backoff with full jitter under a ceiling, Retry-After as a floor, both Retry-After forms. */
import { describe, expect, test } from "bun:test";
import { backoffMs, DEFAULT_RETRY } from "../../src/forward/retry.ts";
import { parseRetryAfter } from "../../src/forward/sink.ts";

describe("backoff", () => {
  test("grows 2^n up to the maximum, jittered between half the base and the ceiling", () => {
    const p = { baseMs: 100, maxMs: 5000 };
    expect(backoffMs(0, p, undefined, () => 1)).toBe(100);
    expect(backoffMs(3, p, undefined, () => 1)).toBe(800);
    expect(backoffMs(30, p, undefined, () => 1)).toBe(5000);
    expect(backoffMs(30, p, undefined, () => 0)).toBe(50);
    const draws = Array.from({ length: 200 }, () => backoffMs(6, p));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...draws)).toBeLessThanOrEqual(5000);
    expect(new Set(draws).size).toBeGreaterThan(100); // jittered, not in step
  });

  test("Retry-After is a floor the jitter never shortens", () => {
    expect(backoffMs(0, DEFAULT_RETRY, 7000, () => 0)).toBe(7000);
    expect(backoffMs(30, { baseMs: 100, maxMs: 60_000 }, 1000, () => 1)).toBe(60_000);
  });

  test("Retry-After in seconds or as an HTTP date; anything else is ignored", () => {
    const now = Date.parse("2025-06-01T12:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Sun, 01 Jun 2025 12:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Sun, 01 Jun 2025 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
