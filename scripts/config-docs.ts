#!/usr/bin/env bun
/** Writes docs/CONFIGURATION.md from the settings table (src/config/table.ts). `--check` only compares. */
import { configurationDoc } from "../src/config/index.ts";

const path = `${import.meta.dir}/../docs/CONFIGURATION.md`;
const want = configurationDoc();
if (process.argv.includes("--check")) {
  const have = await Bun.file(path).text().catch(() => "");
  if (have !== want) {
    console.error("docs/CONFIGURATION.md is out of date: run bun scripts/config-docs.ts");
    process.exit(1);
  }
} else {
  await Bun.write(path, want);
  console.log(`wrote ${path}`);
}
