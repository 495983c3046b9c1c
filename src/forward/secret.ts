/**
 * A credential read from the environment or a file, never from the config file itself. It
 * prints as [redacted] whatever happens to it (string template, JSON, console.log), so an
 * error message or a debug dump cannot carry it; only `reveal()` gives the value.
 */
import { readFileSync } from "node:fs";
import { AtoError } from "../errors.ts";

export class Secret {
  #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[redacted]";
  }
  toJSON(): string {
    return "[redacted]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[redacted]";
  }
}

/** `<name>_env` or `<name>_file` of a sink's settings; an inline `<name>` is refused. */
export function readSecret(where: string, o: Record<string, unknown>, name: string, env: NodeJS.ProcessEnv = process.env): Secret | undefined {
  if (name in o) throw new AtoError(`${where}: "${name}" may not be written in the config file; give ${name}_env (a variable's name) or ${name}_file (a file's path)`, "CONFIG");
  const envName = o[`${name}_env`];
  const file = o[`${name}_file`];
  if (envName !== undefined && file !== undefined) throw new AtoError(`${where}: give ${name}_env or ${name}_file, not both`, "CONFIG");
  if (typeof envName === "string") {
    const v = env[envName];
    if (v === undefined || v === "") throw new AtoError(`${where}: ${name}_env names ${envName}, which is not set`, "CONFIG");
    return new Secret(v);
  }
  if (typeof file === "string") {
    try {
      return new Secret(readFileSync(file, "utf8").replace(/\r?\n$/, ""));
    } catch (e) {
      throw new AtoError(`${where}: cannot read ${name}_file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "CONFIG", { cause: e });
    }
  }
  if (envName !== undefined || file !== undefined) throw new AtoError(`${where}: ${name}_env and ${name}_file must be strings`, "CONFIG");
  return undefined;
}
