/**
 * The read-ahead source for scanLines (src/log/lines.ts): SLOTS chunk buffers in shared memory; chunks
 * N+1 and N+2 are read, split into lines and handed to the worker (hash-worker-pool.ts) before chunk
 * N's lines go to the verifier, so the worker hashes their leaves while this thread checks N. The lines,
 * their order, the limit and the findings are scanLines's, the same as with one buffer.
 *
 * The worker also hashes the complete subtrees over the leaves. Which are the tree's depends on the
 * tree size at the chunk's first line, not known until the chunk before is checked: it is predicted
 * (the size at the last chunk's start plus the lines since), and a wrong guess (a checkpoint that
 * reset the tree, a skipped file) only means StreamTree.flush hashes those levels itself.
 */
import type { LineSource } from "../log/lines.ts";
import { SLOTS } from "./hash-worker-jobs.ts";
import { leafSource, type HashPool } from "./hash-worker-pool.ts";
import type { RunState } from "./state.ts";
import { provideLeaves } from "./stream-tree.ts";

export function aheadSource(s: RunState, pool: HashPool, read: LineSource["read"], chunk: number): LineSource {
  let offset = s.tree?.size ?? 0; // tree size minus the lines of the file before the current chunk
  return {
    read,
    ahead: SLOTS - 1,
    buffer(slot, need) {
      pool.cancel(slot); // its last job, if still out, is withdrawn or finished before the buffer is reused
      return pool.buffer(slot, need, chunk + 1);
    },
    spans: (slot) => pool.spans[slot]!,
    filled(c) {
      if (c.count > 0) pool.submit(c.slot, c.count, offset + c.before);
    },
    lines(c) {
      offset = (s.tree?.size ?? 0) - c.before;
      provideLeaves(c.count > 0 ? leafSource(pool, c.slot, c.buf, c.count) : undefined);
    },
    reuse() {
      // The lines the tree noted are about to be overwritten (the slots outlive the scan: flushed on every exit).
      s.tree?.flush();
      provideLeaves(undefined);
    },
  };
}
