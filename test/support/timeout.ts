/**
 * The suite's per-test time-out for a plain `bun test` (bunfig.toml preloads this file). Bun
 * 1.4 has no time-out setting in bunfig.toml, and setDefaultTimeout() called here would reach
 * only the first test file, so every test file is given the call as its first statement, on
 * its first line (line numbers in stack traces stay right). `--timeout N` on the command line
 * (scripts/test.sh passes one) wins: the file is then left as it is.
 */
import { plugin } from "bun";
import { readFileSync } from "node:fs";

export const SUITE_TIMEOUT_MS = 120_000;

const cmdline = readFileSync("/proc/self/cmdline", "utf8").split("\0");
if (!cmdline.some((a) => a === "--timeout" || a.startsWith("--timeout="))) {
  plugin({
    name: "ato-suite-timeout",
    setup(build) {
      build.onLoad({ filter: /\.test\.ts$/ }, async ({ path }) => ({
        loader: "ts",
        contents: `import { setDefaultTimeout as __atoSuiteTimeout } from "bun:test"; __atoSuiteTimeout(${SUITE_TIMEOUT_MS}); ${await Bun.file(path).text()}`,
      }));
    },
  });
}
