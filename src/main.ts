#!/usr/bin/env bun
/**
 * ato's entry point: run the command line and turn every failure into one clear line
 * on stderr and an exit code. Nothing below this file prints errors or calls exit.
 */
// First: `ato run` starts over once without Bun's GC timer, before anything else is loaded (src/cli/gc-timer.ts).
import "./cli/gc-timer.ts";
import { renderUsage, runCommand } from "citty";
import { AtoError, EXIT_CODES } from "./errors.ts";
import { main, resolveCommand } from "./cli/index.ts";
import { VERSION } from "./version.ts";
import { environmentText } from "./config/index.ts";

async function run(rawArgs: string[]): Promise<number> {
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    console.log(VERSION);
    return 0;
  }
  if (rawArgs.includes("--help") || rawArgs.includes("-h") || rawArgs.length === 0) {
    const [cmd, parent, name] = await resolveCommand(rawArgs);
    console.log((await renderUsage(cmd, parent)) + environmentText(name));
    return rawArgs.length === 0 ? EXIT_CODES.USAGE : 0;
  }
  try {
    // citty does not pass a subcommand's return value up: a command that ends without an
    // error but with a non-zero status (verify's findings, doctor's failures) sets process.exitCode.
    const { result } = await runCommand(main, { rawArgs });
    return typeof result === "number" ? result : Number(process.exitCode ?? 0);
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof AtoError) {
    console.error(`ato: ${e.message}`);
    if (e.details) console.error(e.details.replace(/^/gm, "  "));
    return e.exitCode;
  }
  // citty's own argument errors (unknown command, missing required argument).
  if (e instanceof Error && e.name === "CLIError") {
    console.error(`ato: ${e.message} (see ato --help)`);
    return EXIT_CODES.USAGE;
  }
  console.error(`ato: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return EXIT_CODES.INTERNAL;
}

process.exitCode = await run(process.argv.slice(2));
