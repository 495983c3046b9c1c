/** The AtoError a call throws; fails the test when it throws nothing, or something else. */
import { AtoError } from "../../src/errors.ts";

export function thrownAtoError(fn: () => unknown): AtoError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AtoError) return e;
    throw e;
  }
  throw new Error("expected an AtoError, nothing was thrown");
}
