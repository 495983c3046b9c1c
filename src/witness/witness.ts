/**
 * The witness's decision on one add-checkpoint request (c2sp.org/tlog-witness), apart from
 * HTTP. Checks, in the spec's order: the body's shape (400), the origin (404), the log's
 * signature (403), old size ≤ checkpoint size (400), old size = the size last cosigned (409,
 * answering that size), the consistency proof (422), equal sizes with equal roots (409).
 * Then the new state is persisted and synced, and only then cosigned and answered.
 *
 * Requests for one origin run one at a time (a chain of promises per origin), so two
 * requests can never both pass the old-size check against the same state: the race the
 * spec describes (a cosignature for N after one for N+K) cannot happen.
 */
import { AtoError } from "../errors.ts";
import { parseCheckpointBody, parseSignedNote } from "../evidence/index.ts";
import { equalHashes, verifyConsistency } from "../tree/index.ts";
import { cosign, cosignatureLine } from "./cosignature.ts";
import type { WitnessKey } from "./key.ts";
import { verifiedByLog, type TrustedLogs } from "./logs.ts";
import { parseAddCheckpoint } from "./request.ts";
import type { WitnessState } from "./state.ts";

export type Refusal = "malformed" | "unknown_log" | "bad_signature" | "old_size_too_large" | "conflict" | "bad_proof" | "root_mismatch";

export type Answer =
  | { status: 200; body: string; origin: string; size: number }
  | { status: 400 | 403 | 404 | 409 | 422; reason: Refusal; message: string; body: string; contentType?: string; origin?: string };

export class Witness {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly key: WitnessKey,
    private readonly logs: TrustedLogs,
    private readonly state: WitnessState,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
    /** Told of signed requests refused for a conflict or a bad proof (refused.ts keeps them). */
    private readonly onSignedRefusal?: (origin: string, status: number, body: string) => void,
  ) {}

  get knownLogs(): number {
    return this.logs.size;
  }

  async addCheckpoint(body: string): Promise<Answer> {
    const a = await this.decide(body);
    if (a.status !== 200 && (a.reason === "root_mismatch" || a.reason === "bad_proof") && a.origin) this.onSignedRefusal?.(a.origin, a.status, body);
    return a;
  }

  private async decide(body: string): Promise<Answer> {
    let req, text, signatures, cp;
    try {
      req = parseAddCheckpoint(body);
      ({ text, signatures } = parseSignedNote(req.note));
      cp = parseCheckpointBody(text);
    } catch (e) {
      if (e instanceof AtoError && e.code === "CORRUPT") return refuse(400, "malformed", e.message);
      throw e;
    }
    const keys = this.logs.get(cp.origin);
    if (!keys) return refuse(404, "unknown_log", `unknown log origin '${cp.origin.slice(0, 100)}'`);
    if (!verifiedByLog(keys, text, signatures)) return refuse(403, "bad_signature", `no signature of a trusted key of '${cp.origin}' verifies`, cp.origin);
    if (req.oldSize > cp.size) return refuse(400, "old_size_too_large", `old size ${req.oldSize} is larger than the checkpoint's ${cp.size}`, cp.origin);
    return this.serial(cp.origin, async (): Promise<Answer> => {
      const known = this.state.get(cp.origin);
      const knownSize = known?.size ?? 0;
      if (req.oldSize !== knownSize) {
        return { ...refuse(409, "conflict", `old size ${req.oldSize} is not the size last cosigned, ${knownSize}`, cp.origin), body: `${knownSize}\n`, contentType: "text/x.tlog.size" };
      }
      if (known && req.oldSize === cp.size) {
        if (!equalHashes(known.root, cp.root)) return refuse(409, "root_mismatch", `a checkpoint of size ${cp.size} with another root than the one cosigned`, cp.origin);
        if (req.proof.length > 0) return refuse(422, "bad_proof", "a proof between equal sizes must be empty", cp.origin);
      } else {
        try {
          if (known) verifyConsistency(known.size, cp.size, known.root, cp.root, req.proof);
          else if (req.proof.length > 0) throw new AtoError("the proof must be empty when the old size is 0", "CORRUPT");
        } catch (e) {
          if (e instanceof AtoError && (e.code === "CORRUPT" || e.code === "TAMPERED")) return refuse(422, "bad_proof", `consistency proof from ${req.oldSize} to ${cp.size}: ${e.message}`, cp.origin);
          throw e;
        }
      }
      const timestamp = Math.max(this.now(), known?.timestamp ?? 0);
      await this.state.put({ origin: cp.origin, size: cp.size, root: cp.root, timestamp });
      const sig = await cosign(this.key, text, timestamp);
      return { status: 200, body: cosignatureLine(sig), origin: cp.origin, size: cp.size };
    });
  }

  /** Runs fn after every earlier request of this origin has finished. */
  private serial<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(origin) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(origin, tail);
    void tail.then(() => {
      if (this.queues.get(origin) === tail) this.queues.delete(origin);
    });
    return run;
  }
}

function refuse(status: 400 | 403 | 404 | 409 | 422, reason: Refusal, message: string, origin?: string): Answer & { status: typeof status } {
  return { status, reason, message, body: `${message}\n`, origin } as Answer & { status: typeof status };
}
