/**
 * The key a bundle is signed with: the PKCS#11 key that signs checkpoints. A key that cannot be opened (HSM
 * gone, wrong PIN) is not an error here: the bundle is still written, unsigned, and says why.
 */
import { AtoError } from "../errors.ts";
import { openSigner, type CheckpointSigner, type OpenSignerOptions } from "../signer/index.ts";

export function tryOpenSigner(opts: OpenSignerOptions): { signer: CheckpointSigner | null; error?: string } {
  try {
    return { signer: openSigner(opts) };
  } catch (e) {
    if (e instanceof AtoError && (e.code === "HSM" || e.code === "FFI")) return { signer: null, error: e.message };
    throw e;
  }
}
