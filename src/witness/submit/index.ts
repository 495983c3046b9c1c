/** The agent's witness submitter: every signed checkpoint to every witness, the answers into the evidence log. */
export { Submitter, type SubmitterOptions } from "./submitter.ts";
export { parseWitnessTarget, type WitnessTarget } from "./targets.ts";
export { consistencyProof } from "../proof.ts";
