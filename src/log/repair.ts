/**
 * Start-up repair of a torn last line (a crash or a full disk in the middle of a write):
 * the file is cut back to its last complete record. Every complete record is kept; the
 * dropped bytes are described (count and SHA-256) so the writer records the repair itself
 * as evidence, of kind "repair".
 */
import { closeSync, openSync, readSync, truncateSync } from "node:fs";
import { basename } from "node:path";
import { AtoError } from "../errors.ts";
import { hex, sha256 } from "../tree/index.ts";
import { withoutAppendOnly } from "./attr.ts";
import { describeErrno } from "./errno.ts";
import type { TornTail } from "./scan.ts";

export interface RepairData {
  [key: string]: unknown;
  file: string;
  offset: number;
  dropped_bytes: number;
  dropped_sha256: string;
  reason: string;
}

export function repairTornTail(path: string, torn: TornTail): RepairData {
  const dropped = new Uint8Array(torn.length);
  const fd = openSync(path, "r");
  try {
    readSync(fd, dropped, 0, torn.length, torn.offset);
  } finally {
    closeSync(fd);
  }
  try {
    withoutAppendOnly(path, () => truncateSync(path, torn.offset));
  } catch (e) {
    if (e instanceof AtoError) throw e;
    throw new AtoError(`cannot cut the torn last line of ${path}: ${describeErrno(e)}`, "IO", { cause: e });
  }
  return { file: basename(path), offset: torn.offset, dropped_bytes: torn.length, dropped_sha256: hex(sha256(dropped)), reason: torn.reason };
}
