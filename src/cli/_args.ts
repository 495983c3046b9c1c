/**
 * Argument helpers shared by commands: citty args from the settings table, and the flags citty parsed turned
 * into what the resolver reads (only the flags the user typed: citty's false for an absent switch would
 * otherwise win over the environment and the config file).
 */
import { commandArgs, readSettings, settingsOf, type CommandName, type Flags, type Settings } from "../config/index.ts";

export { commandArgs };

/** The settings of `command`: its flags (as typed), then the environment, then the config file, then defaults. */
export function settingsFor(command: CommandName, args: Record<string, unknown>, rawArgs: string[], env = process.env): Settings {
  return readSettings({ flags: typedFlags(command, args, rawArgs), env });
}

export function typedFlags(command: CommandName, args: Record<string, unknown>, rawArgs: string[]): Flags {
  const flags: Flags = {};
  for (const [, s] of settingsOf(command)) {
    if (!s.flag) continue;
    if (s.repeatable) {
      const all = repeated(rawArgs, s.flag);
      flags[s.flag] = all.length ? all.join(",") : undefined;
    } else if (s.parse?.kind === "true or false") {
      flags[s.flag] = rawArgs.some((r) => r === `--${s.flag}` || r.startsWith(`--${s.flag}=`) || r === `--no-${s.flag}`) ? Boolean(args[s.flag]) : undefined;
    } else {
      const v = args[s.flag];
      flags[s.flag] = typeof v === "string" ? v : undefined;
    }
  }
  return flags;
}

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
