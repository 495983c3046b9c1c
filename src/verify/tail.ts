/**
 * The unsigned tail: the lines after the last good checkpoint (or, when none is good, all
 * lines since the verifier last anchored). No signature vouches for them yet, but some lines
 * ato itself could never have written, and those are tampering, not a note: a line that is
 * not valid UTF-8, not a record, not in RFC 8785 canonical form, or out of sequence.
 *
 * The first pass does not know where the tail begins until the end, and reads most lines
 * without a JSON parser (quick.ts); so the tail is read again here, every line parsed under
 * the bounds of bounded.ts. The tail is one checkpoint interval on a healthy log.
 */
import { parseLine, canonicalProblem } from "./bounded.ts";
import type { InputFile } from "./inputs.ts";
import { quickHead } from "./quick.ts";
import type { RunState } from "./state.ts";
import { readLines } from "./read.ts";

export function checkTail(s: RunState, files: InputFile[]): void {
  s.findings.raiseAll(s.pendingGaps, "tampered"); // no good checkpoint follows them: ato never skips a seq
  const from = s.tailFrom;
  if (!from) return;
  for (let i = from.fileIndex; i < files.length; i++) {
    if (s.skipped.has(i)) continue;
    const input = files[i]!;
    let line = i === from.fileIndex ? from.line - 1 : 0;
    readLines(undefined, input, (buf, start, stop) => {
      line++;
      const p = parseLine(buf, start, stop);
      // A line that is not a record at all was already reported by the first pass; one that
      // looked like a record there (its envelope's last bytes) but is not one is new here.
      const problem = p.rec ? canonicalProblem(p.rec, p.text) : quickHead(buf, start, stop) ? p.problem : undefined;
      if (problem) s.findings.add({ severity: "tampered", file: input.path, line, seq: p.rec?.seq, message: `after the last signed checkpoint, a line ato could not have written: ${problem}` });
    }, i === from.fileIndex ? from.offset : 0);
  }
}
