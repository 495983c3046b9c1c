/**
 * The import graph of one entry file, as Bun's transpiler reads it: every project file reached through
 * relative imports (static and dynamic), plus the bare module names (pkcs11js, bun:ffi …) they name.
 * Tests use it to pin what a command can never load (ato verify and ato forward: no HSM module, no FFI).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.path.endsWith(".json")) continue; // package.json (the version), not code
      if (imp.path.endsWith(".so")) { seen.add(imp.path); continue; } // a shared object embedded as a file, not code
      if (imp.path.startsWith(".")) visit(resolve(dirname(file), imp.path));
      else seen.add(imp.path);
    }
  };
  visit(entry);
  return seen;
}
