/**
 * Which XDP object this kernel runs, found the only honest way: by loading it, exactly as `ato run` would (the
 * first object, then the fallback only for the refusal it exists for). `ato doctor` and `ato version` say the
 * answer. The trial load pins its maps under a directory of its own beside the real pin directory (never reusing
 * the agent's pins) and removes it again, so the host is left as it was.
 */
import { existsSync, rmSync } from "node:fs";
import { AtoError } from "../errors.ts";
import { XdpAuditor } from "./loader.ts";
import { bpfCompatPath, bpfObjectName, bpfObjectPath } from "./object.ts";

export interface ObjectProbe {
  /** The object that loaded, named as bpfObjectName() does. */
  object: string;
  /** Why it is the fallback, when it is. */
  fallback?: string;
}

export function probeObject(pinDir: string, given?: string): ObjectProbe {
  const dir = `${pinDir.replace(/\/+$/, "")}-probe-${process.pid}`;
  try {
    const a = XdpAuditor.load({ objectPath: bpfObjectPath(given), fallbackPath: bpfCompatPath(given), pinDir: dir, maxFlows: 1 });
    a.close();
    return { object: bpfObjectName(a.object.path), fallback: a.object.fallback?.reason };
  } catch (e) {
    if (e instanceof AtoError) throw e;
    throw new AtoError(`trial load of the XDP program failed: ${String(e)}`, "BPF", { cause: e });
  } finally {
    // Only what the trial made: on a read-only bpffs (an image build) the load failed before making the
    // directory, and even a forced rm of a missing path there fails with EROFS.
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}
