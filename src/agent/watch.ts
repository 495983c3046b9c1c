/**
 * Whether someone watches the agent's metrics: a /metrics scrape (the render it asks for, published.ts)
 * marks the agent as watched for a window, during which the collector reads the flow map every interval
 * in which a frame came, so the traffic counters and the flow count move every interval, as a dashboard
 * expects. Nobody watching, the collector reads the map only when a flow can be due (collector.ts): the
 * metrics then hold the last read's values, and a scrape after such a stretch starts a cycle at once (its
 * own answer may be the previous read's; the next scrape has the fresh one).
 *
 * The window, 2 minutes by default (ATO_METRICS_WATCH_SECONDS): Prometheus scrapes every 15 s to 1 min
 * (its default scrape_interval is 1 min), so twice the longest common interval keeps a scraped agent
 * watched without a gap even when one scrape is late or fails, and an agent nobody scrapes any more goes
 * back to reading only when due within 2 minutes. /healthz and /readyz do not mark it: a liveness probe is
 * not someone reading traffic figures.
 */
export class Watch {
  private until = -Infinity;

  constructor(private readonly windowMs: number, private readonly now: () => number = () => performance.now()) {}

  /** A scrape: watched for the next window. True when nobody was watching until now (start a cycle at once). */
  mark(): boolean {
    const t = this.now(), was = t < this.until;
    this.until = t + this.windowMs;
    return !was;
  }

  /** Whether a scrape came within the window. */
  get watched(): boolean {
    return this.now() < this.until;
  }
}
