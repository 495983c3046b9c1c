/** SHA-256 in hex, the one digest of bundles. */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * A file's SHA-256, read 1 MiB at a time through the I/O thread pool: each read returns to the event loop, so
 * hashing ato's own 100 MB binary while the agent starts delays no timer and no signal handler by more than
 * one chunk's hashing (~3 ms), where reading it whole would hold the loop for a third of a second.
 */
export async function sha256FileAsync(path: string): Promise<string> {
  const h = createHash("sha256");
  const f = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await f.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await f.close();
  }
  return h.digest("hex");
}
