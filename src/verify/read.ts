/** Reading a segment's lines for the verifier: its line limit, and its errors by kind. */
import { AtoError } from "../errors.ts";
import { MAX_LINE_BYTES } from "../evidence/index.ts";
import { forEachLine } from "../log/lines.ts";
import { usageFromErrno } from "./files.ts";
import type { InputFile } from "./inputs.ts";
import type { RunState } from "./state.ts";

export interface ReadEnd {
  partialLength: number;
  /** The file holds a line over the limit; nothing after it was read. */
  cut: boolean;
}

/**
 * forEachLine with verify's line limit. A line over it is a finding, not an error: the file
 * is not a log from there on. A read that fails (EIO, a file that is not readable after all)
 * is a usage error naming the file.
 */
export function readLines(s: RunState | undefined, input: InputFile, onLine: Parameters<typeof forEachLine>[2], from = 0): ReadEnd {
  let inHandler = false;
  // Four named parameters, not a rest spread: this runs once per line.
  const handler: typeof onLine = (buf, start, end, offset) => {
    inHandler = true;
    const r = onLine(buf, start, end, offset);
    inHandler = false;
    return r;
  };
  try {
    return { partialLength: forEachLine(input.fd, input.size, handler, { maxLine: MAX_LINE_BYTES, from }).partialLength, cut: false };
  } catch (e) {
    if (inHandler) throw e; // the verifier's own, not the reader's
    if (e instanceof AtoError && e.code === "CORRUPT") {
      s?.findings.add({ severity: "tampered", file: input.path, message: `${e.message}; the rest of the file was not read` });
      return { partialLength: 0, cut: true };
    }
    throw usageFromErrno(e, `cannot read ${input.path}`);
  }
}

