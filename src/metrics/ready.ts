/** /readyz's answer from a Health (app.ts in-process, worker.ts from a published snapshot): one place decides it. */
import type { Health } from "./app.ts";

export const NOT_FOUND = "not found: try /metrics, /healthz, /readyz or /checkpoint\n";

const CHECKS = ["attached", "hsm", "logWritable", "witnesses"] as const;

export interface Readiness {
  status: 200 | 503;
  body: { ready: boolean; failed: string[]; checks: Record<string, boolean>; details?: Record<string, string> };
}

/** Witnesses are checked only when the agent has some (h.witnesses defined). */
export function readiness(h: Health): Readiness {
  const asked = CHECKS.filter((k) => h[k] !== undefined || k !== "witnesses");
  const checks = Object.fromEntries(asked.map((k) => [k, h[k] === true]));
  const failed = asked.filter((k) => !checks[k]);
  const body = { ready: failed.length === 0, failed, checks, ...(h.details ? { details: h.details } : {}) };
  return { status: failed.length === 0 ? 200 : 503, body };
}
