/** Every option of every command says in its --help what it means, its default, its choices and its environment name; `ato --version` works. */
import { describe, expect, test } from "bun:test";
import { settingsOf, type CommandName } from "../../src/config/index.ts";
import { defaultText } from "../../src/config/help.ts";
import { VERSION } from "../../src/version.ts";
import { ato } from "./_run.ts";

const COMMANDS: CommandName[] = ["run", "doctor", "flows", "hsm init", "hsm pubkey", "hsm info", "reveal", "version"];

describe("ato --help", () => {
  for (const command of COMMANDS) {
    test(`${command}: every option with its meaning, default, choices and environment name; secrets listed by name`, () => {
      const r = ato([...command.split(" "), "--help"]);
      expect(r.code).toBe(0);
      const text = r.stdout.replace(/\s+/g, " ");
      for (const [key, s] of settingsOf(command)) {
        if (s.flag) {
          const isSwitch = s.parse?.kind === "true or false";
          // The option's own line: `--flag=<hint>` (a switch: `--flag `), not a mention in another's text.
          const line = text.slice(text.indexOf(isSwitch ? `--${s.flag} ` : `--${s.flag}=`));
          expect({ key, shown: text.includes(`--${s.flag}`) }).toEqual({ key, shown: true });
          expect({ key, meaning: line.includes(s.description) }).toEqual({ key, meaning: true });
          if (s.env.length) expect({ key, env: line.includes(`env ${s.env.join(" or ")}`) }).toEqual({ key, env: true });
          const d = defaultText(s);
          if (d !== undefined) expect({ key, default: line.includes(`(Default: ${d})`) }).toEqual({ key, default: true });
          if (s.parse?.allowed) expect({ key, choices: line.startsWith(`--${s.flag}=<${s.parse.allowed.join("|")}>`) }).toEqual({ key, choices: true });
        } else if (s.env.length) {
          expect({ key, env: text.includes(s.secret ? `${s.env[0]} or ${s.env[0]}_FILE` : s.env[0]!) }).toEqual({ key, env: true });
        }
      }
    });
  }

  test("ato --version and -v print the version alone", () => {
    for (const flag of ["--version", "-v"]) {
      const r = ato([flag]);
      expect(r).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    }
  });

  test("a bad choice on the command line is one line naming the flag, the choices and the value", () => {
    const r = ato(["flows", "--sort", "age", "--pin-dir", "/nonexistent"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toBe("ato: --sort must be one of packets, bytes; got 'age' (from flag)\n");
  });
});
