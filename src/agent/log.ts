/**
 * The agent's own log: one line per event on stderr, `ato: <message> key=value ...`.
 * Callers pass only what is safe to show: no PINs or keys ever reach this function.
 */
export type Fields = Record<string, string | number | bigint | boolean | undefined>;

export function log(message: string, fields: Fields = {}): void {
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : String(v)}`);
  process.stderr.write(`ato: ${[message, ...kv].join(" ")}\n`);
}
