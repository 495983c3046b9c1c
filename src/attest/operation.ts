/**
 * An operation: an id, a start, the events recorded during it, an end. Every event is masked as it is added
 * (SecretMask), so what the operation holds in memory is already what the bundle may say.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { AtoError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { SecretMask } from "./secrets.ts";

export type OperationKind = "wrapped" | "agent" | "hsm" | "config" | "upgrade";

export interface OperationEvent {
  ts: string;
  event: string;
  [field: string]: unknown;
}

const OP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** An op id is a file name part: letters, digits, '-' and '_' only (no path can be smuggled through it). */
export function checkOpId(id: string): string {
  if (!OP_ID.test(id)) throw new AtoError(`operation id must match ${OP_ID}; got '${id}'`, "USAGE");
  return id;
}

/** Sortable by time, unique by its random tail: 20261201T093000Z-1f2e3d4c. */
function newOpId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")}-${randomBytes(4).toString("hex")}`;
}

export class Operation {
  readonly events: OperationEvent[] = [];
  readonly header: Record<string, unknown>;
  end: Date | undefined;

  private constructor(
    readonly id: string,
    readonly name: string,
    readonly kind: OperationKind,
    readonly start: Date,
    readonly mask: SecretMask,
    details: Record<string, unknown>,
  ) {
    this.header = mask.value({ ...details, type: "operation", op_id: id, name, kind, start: start.toISOString(), host: hostname(), ato_version: VERSION });
  }

  static begin(name: string, kind: OperationKind, details: Record<string, unknown> = {}, mask = new SecretMask(), now = new Date()): Operation {
    if (!name || name.length > 200) throw new AtoError(`an operation needs a name of 1 to 200 characters; got ${name.length}`, "USAGE");
    return new Operation(newOpId(now), name, kind, now, mask, details);
  }

  add(event: string, data: Record<string, unknown> = {}, now = new Date()): void {
    if (this.end) throw new AtoError(`event '${event}' after the end of operation ${this.id}`, "INTERNAL");
    this.events.push(this.mask.value({ ...data, ts: now.toISOString(), event }));
  }

  finish(now = new Date()): void {
    this.end ??= now;
  }
}
