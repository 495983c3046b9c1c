/** docs/CONFIGURATION.md, made from the table by `bun scripts/config-docs.ts`; test/config/docs.test.ts keeps it current. */
import { defaultText, envText, kindText } from "./help.ts";
import { SETTINGS, type Setting } from "./table.ts";

const cell = (text: string | undefined) => (text ?? "").replace(/\|/g, "\\|");
const code = (text: string | undefined) => (text ? `\`${text}\`` : "");

export function configurationDoc(): string {
  const rows = (Object.values(SETTINGS) as Setting[]).map((s) =>
    [
      s.flag ? code(`--${s.flag}`) : "",
      (s.secret ? [s.env[0]!, `${s.env[0]}_FILE`] : s.env).map(code).join(", "),
      cell(kindText(s)),
      cell(defaultText(s) ?? (s.required ? "(required)" : "")),
      cell(s.description + (s.readBy ? ` (read by ${s.readBy})` : "")),
      s.commands.join(", "),
    ].join(" | "),
  );
  return [
    "# Configuration",
    "",
    "<!-- Generated from src/config/table.ts by `bun scripts/config-docs.ts`; do not edit by hand. -->",
    "",
    "Every setting of every ato command. For each, the first of these that is given wins: the flag, the",
    "environment variable (the first name listed that is set), the config file (`--config FILE` or `ATO_CONFIG`:",
    "`NAME=VALUE` lines or a JSON object, with the environment's names), the default. An invalid value stops the",
    "command with one line naming the setting, where the value came from and what is allowed (exit 78).",
    "",
    "Secrets (PINs, keys) have no flag, since every user of a host can read a command line in `/proc`: they come",
    "from `NAME`, or from the file `NAME_FILE` names (Docker and systemd credentials; a PIN file's trailing",
    "newline is not part of the PIN), and are never printed: `ato run --print-config` shows `(set)` or `(unset)`.",
    "",
    "| flag | environment | type | default | meaning | commands |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r} |`),
    "",
  ].join("\n");
}
