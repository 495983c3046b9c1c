/**
 * The two halves of a checkpoint that the writer keeps apart in time: a checkpoint signed and
 * encoded but not yet written (its line may only follow the durability of the lines it
 * covers), and checkpoints written but not yet durable themselves (onCheckpoint hears of them
 * only then: whoever is told may hand them to witnesses, which must never see a checkpoint a
 * power cut could take back).
 */
import type { CheckpointData } from "../evidence/index.ts";
import type { Hash } from "../tree/index.ts";
import type { SignOutcome } from "./signing.ts";
import type { CheckpointResult } from "./types.ts";

export interface HeldCheckpoint {
  /** The line with its newline, ready to append. */
  line: Uint8Array;
  leaf: Hash;
  data: CheckpointData;
  signed: SignOutcome;
  result: CheckpointResult;
  /** Lines since the previous checkpoint when this one was signed: restored if it is never written. */
  sinceBefore: number;
}

/** Written checkpoints in file order, each with the file size just after its line. */
export class AnnounceQueue {
  private readonly waiting: { result: CheckpointResult; end: number }[] = [];

  constructor(private readonly tell: (c: CheckpointResult) => void) {}

  push(result: CheckpointResult, end: number): void {
    this.waiting.push({ result, end });
  }

  /** Tells, in order, every checkpoint whose line ends within the first `durable` bytes of the file. */
  upTo(durable: number): void {
    while (this.waiting.length > 0 && this.waiting[0]!.end <= durable) this.tell(this.waiting.shift()!.result);
  }
}
