/**
 * What makes an observation an anomaly. Each measure fires when, after the warm-up, its value is at least the
 * measure's floor and above the baseline by `sigmas` standard deviations, where the deviation counts as at
 * least `relativeFloor` of the mean (a quiet, regular series has a tiny variance; a doubling of it is not an
 * attack). A series that fired stays quiet for `cooldownCycles`, so a lasting attack is one record, not one per cycle.
 */

export interface DetectOptions {
  /** Weight of the newest cycle in the baselines (0.05: about the last 20 cycles). */
  alpha: number;
  /** Cycles the detector observes before anything may fire. */
  warmupCycles: number;
  sigmas: number;
  relativeFloor: number;
  cooldownCycles: number;
  /** New connections (flows) per second of one service or source, at least. */
  minNewPerSecond: number;
  /** Bytes per second of one service or source, at least. */
  minBytesPerSecond: number;
  /** Share of failed TCP connection attempts, at least (0-1), with at least `minFailedPerSecond` of them. */
  minFailedShare: number;
  minFailedPerSecond: number;
  /** Distinct destination address and port pairs one source reaches in one cycle, at least. */
  minScanTargets: number;
  /** Baselines kept; the least recently seen go first beyond this. */
  maxSeries: number;
}

export const DEFAULT_DETECT: DetectOptions = {
  alpha: 0.05,
  warmupCycles: 30,
  sigmas: 4,
  relativeFloor: 1,
  cooldownCycles: 30,
  minNewPerSecond: 20,
  minBytesPerSecond: 1 << 20,
  minFailedShare: 0.5,
  minFailedPerSecond: 5,
  minScanTargets: 50,
  maxSeries: 100_000,
};

/** The detector's options from the settings table's values (src/config/table.ts, detect*). */
export function detectOptionsFrom(s: {
  detectWarmupCycles: number; detectBaselineCycles: number; detectSigmas: number; detectCooldownCycles: number;
  detectMinNewPerSecond: number; detectMinBytesPerSecond: number; detectMinFailedPercent: number;
  detectMinFailedPerSecond: number; detectMinScanTargets: number; detectMaxSeries: number;
}): DetectOptions {
  return {
    ...DEFAULT_DETECT,
    alpha: 2 / (s.detectBaselineCycles + 1),
    warmupCycles: s.detectWarmupCycles,
    sigmas: s.detectSigmas,
    cooldownCycles: s.detectCooldownCycles,
    minNewPerSecond: s.detectMinNewPerSecond,
    minBytesPerSecond: s.detectMinBytesPerSecond,
    minFailedShare: s.detectMinFailedPercent / 100,
    minFailedPerSecond: s.detectMinFailedPerSecond,
    minScanTargets: s.detectMinScanTargets,
    maxSeries: s.detectMaxSeries,
  };
}
