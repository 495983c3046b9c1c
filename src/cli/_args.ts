/** Argument helpers shared by commands. */
import { AtoError } from "../errors.ts";

/** All values of a repeatable flag (`--iface a --iface b`, or `--iface a,b`). */
export function repeated(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${name}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out.flatMap((v) => v.split(",")).filter(Boolean);
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === "") return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new AtoError(`--${name} must be one of ${allowed.join(", ")}; got '${value}'`, "USAGE");
}

export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AtoError(`--${name} must be a positive integer; got '${value}'`, "USAGE");
  return n;
}
