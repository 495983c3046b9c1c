/**
 * `ato reveal PATH --seq N`: for a key holder during an investigation, the unmasked addresses
 * and ports sealed in one record (AES-256-GCM, the record's `rid` as associated data). The key
 * comes from ATO_SEAL_KEY or ATO_SEAL_KEY_FILE (or the config file), never from the command line.
 */
import { defineCommand } from "citty";
import { closeSync, openSync, statSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { forEachLine, listLogFiles } from "../log/index.ts";
import { revealFlowFields, Sealer } from "../mask/index.ts";
import { commandArgs, settingsFor } from "./_args.ts";

export default defineCommand({
  meta: { name: "reveal", description: "decrypt the sealed, unmasked fields of one evidence record (needs the sealing key)" },
  args: {
    path: { type: "positional", description: "audit directory or segment file", required: true },
    ...commandArgs("reveal"),
  },
  run({ args, rawArgs }) {
    const s = settingsFor("reveal", args, rawArgs);
    const seq = s.get("seq")!;
    const key = s.get("sealKey");
    if (!key) throw new AtoError("revealing needs the sealing key: set ATO_SEAL_KEY or ATO_SEAL_KEY_FILE", "CONFIG");
    const record = findRecord(args.path, seq);
    const { sealed, rid } = (record.data ?? {}) as { sealed?: string; rid?: string };
    if (!sealed || !rid) throw new AtoError(`record ${seq} (${record.kind}) has no sealed fields: the agent ran without sealing`, "NOT_FOUND");
    const fields = revealFlowFields(new Sealer(key), sealed, rid);
    console.log(JSON.stringify({ seq, kind: record.kind, ts: record.ts, ...fields }));
  },
});

function findRecord(path: string, seq: number): { kind: string; ts: string; data?: Record<string, unknown> } {
  const files = statSync(path, { throwIfNoEntry: false })?.isDirectory()
    ? (({ rotated, active }) => [...rotated.map((r) => r.path), ...(active ? [active] : [])])(listLogFiles(path))
    : [path];
  const want = `"seq":${seq},`;
  for (const file of files) {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (e) {
      throw new AtoError(`cannot read ${file}: ${(e as Error).message}`, "NOT_FOUND", { cause: e });
    }
    let found: string | undefined;
    try {
      forEachLine(fd, statSync(file).size, (buf, start, end) => {
        const line = Buffer.from(buf.subarray(start, end)).toString("utf8");
        if (!line.includes(want)) return false;
        found = line;
        return true;
      });
    } finally {
      closeSync(fd);
    }
    if (found) {
      try {
        return JSON.parse(found);
      } catch (e) {
        throw new AtoError(`record ${seq} in ${file} is not valid JSON`, "CORRUPT", { cause: e });
      }
    }
  }
  throw new AtoError(`no record with seq ${seq} in ${path}`, "NOT_FOUND");
}
