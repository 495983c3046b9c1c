/** Build identity. scripts/build.sh defines ATO_COMMIT at compile time; from source it is read from git. */
import pkg from "../package.json" with { type: "json" };

declare const ATO_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

export function commit(): string {
  if (typeof ATO_COMMIT === "string") return ATO_COMMIT;
  const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: import.meta.dir, stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "unknown";
}

/**
 * How the running binary carries its JavaScript: "bytecode" when scripts/build.sh compiled it with
 * --bytecode (JavaScriptCore loads the embedded bytecode instead of parsing ~420 bundled modules at
 * every start), "source" for a compiled binary without it, "not compiled" under `bun src/main.ts`.
 * Bun marks a bytecode-compiled module's first line `// @bun @bytecode` (after the shebang).
 */
export async function moduleForm(): Promise<string> {
  if (!Bun.main.includes("$bunfs")) return "not compiled";
  const head = await Bun.file(Bun.main).slice(0, 256).text();
  return /^(#![^\n]*\n)?\/\/ @bun @bytecode\b/.test(head) ? "bytecode" : "source";
}
