/**
 * The tree code against the published RFC 6962 / RFC 9162 vectors (test/fixtures/rfc6962):
 * roots and frontiers for every size of the 8-leaf tree, inclusion and consistency proofs,
 * and their named failure cases (truncated proof, swapped roots, trailing garbage, wrong index…).
 */
import { describe, expect, test } from "bun:test";
import tree from "../fixtures/rfc6962/tree.json";
import inclusion from "../fixtures/rfc6962/inclusion.json";
import consistency from "../fixtures/rfc6962/consistency.json";
import { appendLeaf, frontierRoot, hashLeaf, hex, verifyConsistency, verifyInclusion, EMPTY_FRONTIER, type Frontier } from "../../src/tree/index.ts";

const h = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

describe("RFC 6962 8-leaf tree", () => {
  test("leaf hashes are SHA-256(0x00 || leaf)", () => {
    expect(tree.leaves.map((l) => hex(hashLeaf(h(l))))).toEqual(tree.node_hashes[0]!);
  });

  test("the frontier after each append matches the published compact tree and root", () => {
    let f: Frontier = EMPTY_FRONTIER;
    expect(hex(frontierRoot(f))).toBe(tree.roots_by_size[0]!);
    tree.leaves.forEach((leaf, size) => {
      f = appendLeaf(f, size, hashLeaf(h(leaf)));
      expect(f.map(hex)).toEqual(tree.frontiers_by_size[size + 1]!);
      expect(hex(frontierRoot(f))).toBe(tree.roots_by_size[size + 1]!);
    });
  });
});

describe("inclusion proofs (RFC 9162 §2.1.3.2)", () => {
  for (const c of inclusion.cases) {
    test(`${c.valid ? "accepts" : "rejects"}: ${c.name}`, () => {
      const run = () => verifyInclusion(c.index, c.size, h(c.leaf_hash), c.proof.map(h), h(c.root));
      if (c.valid) expect(run).not.toThrow();
      else expect(run).toThrow();
    });
  }
});

describe("consistency proofs (RFC 9162 §2.1.4.2)", () => {
  for (const c of consistency.cases) {
    test(`${c.valid ? "accepts" : "rejects"}: ${c.name}`, () => {
      const run = () => verifyConsistency(c.size1, c.size2, h(c.root1), h(c.root2), c.proof.map(h));
      if (c.valid) expect(run).not.toThrow();
      else expect(run).toThrow();
    });
  }
});
