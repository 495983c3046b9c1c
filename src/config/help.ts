/**
 * What a user reads about a setting, from the table: the option list of each command's --help (citty's args),
 * the environment-only settings and secrets under it, and each row of docs/CONFIGURATION.md. No default is given
 * to citty itself: a flag default would always win over the environment and the config file.
 */
import { settingsOf, type CommandName, type Setting } from "./table.ts";

/** The default as the help and the docs show it. */
export function defaultText(s: Setting): string | undefined {
  if (s.defaultText !== undefined) return s.defaultText;
  if (s.default === undefined) return undefined;
  if (Array.isArray(s.default)) return s.default.length ? s.default.join(",") : "none";
  return String(s.default);
}

/** `env X or Y`, with a secret's NAME_FILE. */
export function envText(s: Setting): string | undefined {
  if (s.env.length === 0) return undefined;
  const names = s.secret ? [s.env[0]!, `${s.env[0]}_FILE`] : s.env;
  return `env ${names.join(" or ")}`;
}

/** The type in words, or the allowed values. */
export function kindText(s: Setting): string {
  return s.secret ? `secret (${s.secret.kind})` : s.parse!.kind;
}

export interface ArgDef {
  type: "string" | "boolean";
  description: string;
  valueHint?: string;
  required?: boolean;
}

/** citty args of every flag `command` reads: "meaning; env X (Default: d)", choices as the value hint. */
export function commandArgs(command: CommandName): Record<string, ArgDef> {
  const args: Record<string, ArgDef> = {};
  for (const [, s] of settingsOf(command)) {
    if (!s.flag) continue;
    const allowed = s.parse?.allowed;
    const isBool = s.parse?.kind === "true or false";
    const d = defaultText(s);
    const parts = [s.description, ...(allowed || isBool ? [] : [`(${s.parse!.kind})`]), ...(envText(s) ? [`; ${envText(s)}`] : [])];
    const description = `${parts.join(" ").replace(" ;", ";")}${d !== undefined ? ` (Default: ${d})` : ""}`;
    args[s.flag] = {
      // Choices are shown as citty shows an enum (=<a|b>) but checked by the resolver, whose error names the
      // setting and where the value came from like every other invalid value.
      type: isBool ? "boolean" : "string",
      description,
      ...(allowed ? { valueHint: allowed.join("|") } : {}),
      ...(s.required ? { required: true } : {}),
    };
  }
  return args;
}

/** Lines under a command's --help: the settings it reads that have no flag (secrets first); "" for a name that is no command of the table. */
export function environmentText(command: string): string {
  const rows = settingsOf(command as CommandName).filter(([, s]) => !s.flag && s.env.length);
  if (!rows.length) return "";
  const sorted = [...rows.filter(([, s]) => s.secret), ...rows.filter(([, s]) => !s.secret)];
  const lines = sorted.map(([, s]) => {
    const d = defaultText(s);
    return `  ${envText(s)!.slice(4)}: ${s.description}${d !== undefined ? ` (Default: ${d})` : ""}`;
  });
  return `\nENVIRONMENT (also read from the config file; secrets never from a flag)\n\n${lines.join("\n")}\n`;
}
