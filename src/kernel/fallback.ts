/**
 * When the second build of the XDP program (xdp_audit_compat.o) is loaded: only when the kernel refused the first
 * for the one reason that build exists, a global BPF function taking pointers. Kernels before 5.12 validate a
 * global function's arguments and know only scalars and the context there; 5.10's verifier says
 *   "Validating parse_l4() func#1...\nArg#2 type PTR in parse_l4() is not supported yet."
 * and the load fails with EINVAL. Any other rejection is a real one and is reported as it is, never papered over
 * by loading something else.
 */
import { AtoError } from "../errors.ts";
import { errnoName } from "../../ffi/libbpf.ts";

const GLOBAL_PTR_ARG = /Arg#\d+ type PTR in (\w+)\(\) is not supported yet/;

/** The global function the kernel refused for its pointer argument, or undefined for any other failure. */
export function refusedGlobalFunction(e: unknown): string | undefined {
  if (!(e instanceof AtoError) || e.code !== "VERIFIER") return undefined;
  if (!e.message.endsWith(`: ${errnoName(22)}`)) return undefined;
  return GLOBAL_PTR_ARG.exec(e.details ?? "")?.[1];
}
