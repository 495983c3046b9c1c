/**
 * The NDJSON export: every event as one JSON line appended to a file, fsync'd before the
 * batch counts as acknowledged. `ato verify` reads such a file back (src/forward/reassemble.ts).
 * It does not deduplicate: a batch re-sent after a crash appears twice, which reassembly
 * tolerates when both copies are byte-identical.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { AtoError } from "../../errors.ts";
import { eventJson, type ForwardEvent } from "../event.ts";
import type { SinkSettings } from "../config.ts";
import { SinkError, type Sink } from "../sink.ts";

export function fileSink(s: SinkSettings): Sink {
  const path = s.raw.path;
  if (typeof path !== "string" || path === "") throw new AtoError(`sink ${s.name}: path (the NDJSON file) is required`, "CONFIG");
  let fd: number | undefined;
  return {
    name: s.name,
    type: "file",
    async send(events: ForwardEvent[]) {
      try {
        fd ??= openSync(path, "a", 0o640);
        writeSync(fd, events.map(eventJson).join("\n") + "\n");
        fsyncSync(fd);
      } catch (e) {
        throw new SinkError(`cannot append to ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "unreachable", { cause: e });
      }
    },
    async close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
