/**
 * The command tree. Each command lives in its own file and is imported lazily, so
 * `ato verify` never loads libbpf and `ato flows` never loads the PKCS#11 module.
 */
import { defineCommand, type CommandDef } from "citty";
import { VERSION } from "../version.ts";

export const main = defineCommand({
  meta: { name: "ato", version: VERSION, description: "the Auditable Trust Object: XDP flow evidence, signed and verifiable offline (settings: docs/CONFIGURATION.md)" },
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    flows: () => import("./flows.ts").then((m) => m.default),
    version: () => import("./version.ts").then((m) => m.default),
    reveal: () => import("./reveal.ts").then((m) => m.default),
    doctor: () => import("./doctor.ts").then((m) => m.default),
    hsm: () => import("./hsm.ts").then((m) => m.default),
    verify: () => import("./verify.ts").then((m) => m.default),
    witness: () => import("./witness.ts").then((m) => m.default),
    attest: () => import("./attest.ts").then((m) => m.default),
    forward: () => import("./forward.ts").then((m) => m.default),
    collect: () => import("./collect.ts").then((m) => m.default),
    retire: () => import("./retire.ts").then((m) => m.default),
  },
});

/** Finds the (sub)command a raw argument list names, for --help: the command, its parent, and its name ("hsm init"). */
export async function resolveCommand(rawArgs: string[]): Promise<[CommandDef<any>, CommandDef<any> | undefined, string]> {
  let cmd: CommandDef<any> = main;
  let parent: CommandDef<any> | undefined;
  const path: string[] = [];
  for (const arg of rawArgs) {
    if (arg.startsWith("-")) break;
    const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
    const next = subs?.[arg];
    if (!next) break;
    parent = cmd;
    path.push(arg);
    cmd = typeof next === "function" ? await next() : await next;
  }
  return [cmd, parent, path.join(" ")];
}
