/**
 * The two ways bench-kernel runs programs: one frame `repeat` times (one warm flow), and many
 * distinct frames one run each (many flows, cold). Programs take turns within each round, so
 * drift on this shared VM hits them alike.
 */
import { testRun } from "../../ffi/libbpf.ts";
import { emptyMap, type Contender } from "./contenders.ts";

/** ns/packet per contender name, one sample per round. */
export function warm(list: Contender[], frame: Uint8Array, repeat: number, rounds: number): Map<string, number[]> {
  const out = new Map(list.map((c) => [c.name, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    for (const c of list) out.get(c.name)!.push(testRun(c.progFd, frame, repeat).durationNs);
  }
  return out;
}

/** Sum of the kernel's per-run times over the frames, per packet. */
function pass(c: Contender, frames: Uint8Array[]): number {
  let ns = 0;
  for (const f of frames) ns += testRun(c.progFd, f, 1).durationNs;
  return ns / frames.length;
}

/**
 * Each round: every contender's flow map emptied, then each frame once (every packet a flow's
 * first: an insert), then each frame once more (every entry found after all the others). With
 * repeat 1 the kernel's timer brackets one run, so its own cost is in every figure alike; the
 * cost over the bare hook is what to compare.
 */
export function manyFlows(list: Contender[], frames: Uint8Array[], rounds: number) {
  const insert = new Map(list.map((c) => [c.name, [] as number[]]));
  const existing = new Map(list.map((c) => [c.name, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    for (const c of list) {
      if (c.flowMap !== undefined) emptyMap(c.flowMap);
      insert.get(c.name)!.push(Math.round(pass(c, frames) * 10) / 10);
      existing.get(c.name)!.push(Math.round(pass(c, frames) * 10) / 10);
    }
  }
  return { contenders: list, insert, existing };
}
