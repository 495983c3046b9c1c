/**
 * CompactFrontier, the writer's allocation-free frontier, is the frontier of RFC 9162 as
 * appendLeaf and the reference tree give it: the same hashes and root after every leaf, also
 * when started from a frontier in the middle of a tree (a log reopened).
 */
import { describe, expect, test } from "bun:test";
import { CompactFrontier, appendLeaf, frontierRoot, sha256, type Hash } from "../../src/tree/index.ts";

const leaf = (i: number) => sha256(new TextEncoder().encode(`leaf ${i}`));
const hex = (hs: Hash[]) => hs.map((h) => Buffer.from(h).toString("hex"));

describe("CompactFrontier", () => {
  test("after every one of 1,100 leaves: the frontier and root appendLeaf gives", () => {
    const c = new CompactFrontier();
    let ref: Hash[] = [];
    const leaves = new Uint8Array(32 * 1100);
    for (let i = 0; i < 1100; i++) leaves.set(leaf(i), 32 * i);
    for (let i = 0; i < 1100; i++) {
      ref = appendLeaf(ref, i, leaves.slice(32 * i, 32 * i + 32));
      c.append(leaves, 32 * i);
      expect(c.size).toBe(i + 1);
      expect(hex(c.hashes())).toEqual(hex(ref));
      expect(Buffer.from(c.root()).toString("hex")).toBe(Buffer.from(frontierRoot(ref)).toString("hex"));
    }
  });

  test("started from a frontier of size 1,000 it continues as the tree does", () => {
    let ref: Hash[] = [];
    for (let i = 0; i < 1000; i++) ref = appendLeaf(ref, i, leaf(i));
    const c = new CompactFrontier(ref, 1000);
    for (let i = 1000; i < 1300; i++) {
      ref = appendLeaf(ref, i, leaf(i));
      c.append(leaf(i));
    }
    expect(hex(c.hashes())).toEqual(hex(ref));
    expect(c.root()).toEqual(frontierRoot(ref));
    expect(new CompactFrontier().root()).toEqual(frontierRoot([]));
  });
});
