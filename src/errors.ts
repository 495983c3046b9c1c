/**
 * The one error type of ato. Every failure a user can meet is an AtoError with a
 * machine-readable code; only the CLI's top level decides how it is shown and which
 * exit code it becomes. Messages say what was expected and what was found, and never
 * carry a secret (PIN, key material).
 */
export type AtoErrorCode =
  | "USAGE" // bad flags or arguments
  | "CONFIG" // an invalid configuration value
  | "NOT_FOUND" // a file, interface or object that does not exist
  | "PERMISSION" // missing capability or file permission
  | "BPF" // the kernel refused a BPF operation
  | "VERIFIER" // the BPF verifier rejected the program
  | "FFI" // a native library could not be loaded
  | "HSM" // the PKCS#11 module, token, PIN or key
  | "IO" // a read or write failed (full disk, unwritable directory)
  | "CORRUPT" // input that is malformed or damaged
  | "BUSY" // another agent already holds the resource
  | "TAMPERED" // verification: content does not match its commitments
  | "INCOMPLETE" // verification: missing segment, gap, unsigned tail, truncated
  | "UNTRUSTED" // verification: unknown or wrong key
  | "INTERNAL"; // a broken invariant: a bug in ato

/** Exit codes: verify's are fixed by its contract (0, 1, 2, 3, 64); the rest follow sysexits. */
export const EXIT_CODES: Record<AtoErrorCode, number> = {
  TAMPERED: 1,
  INCOMPLETE: 2,
  UNTRUSTED: 3,
  USAGE: 64,
  CONFIG: 78,
  CORRUPT: 65,
  NOT_FOUND: 66,
  HSM: 69,
  FFI: 69,
  BPF: 71,
  VERIFIER: 71,
  INTERNAL: 70,
  IO: 74,
  BUSY: 75,
  PERMISSION: 77,
};

export class AtoError extends Error {
  readonly code: AtoErrorCode;
  /** Extra lines shown under the message (for example the verifier's last lines). */
  readonly details?: string;

  constructor(message: string, code: AtoErrorCode, options: { cause?: unknown; details?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = "AtoError";
    this.code = code;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function isAtoError(e: unknown): e is AtoError {
  return e instanceof AtoError;
}
