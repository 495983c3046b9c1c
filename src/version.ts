/** Build identity. scripts/build.sh defines ATO_COMMIT at compile time; from source it is read from git. */
import pkg from "../package.json" with { type: "json" };

declare const ATO_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

export function commit(): string {
  if (typeof ATO_COMMIT === "string") return ATO_COMMIT;
  const r = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: import.meta.dir, stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "unknown";
}
