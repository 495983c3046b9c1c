/** Temporary config and secret files for config tests; removed by cleanup(). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempFiles() {
  const dir = mkdtempSync(join(tmpdir(), "ato-config-"));
  return {
    dir,
    write(name: string, text: string | Uint8Array): string {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
