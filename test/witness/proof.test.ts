/** The submitter's consistency proofs verify with src/tree's verifier for every pair of sizes, and on RFC 6962 vectors. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { appendLeaf, frontierRoot, hashLeaf, verifyConsistency, type Hash } from "../../src/tree/index.ts";
import { consistencyProof } from "../../src/witness/proof.ts";

const leaves = Array.from({ length: 70 }, (_, i) => hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
const frontiers: Hash[][] = [[]];
for (let i = 0; i < leaves.length; i++) frontiers.push(appendLeaf(frontiers[i]!, i, leaves[i]!));

test("a proof from every m to every n ≥ m (up to 70 leaves) verifies against the two roots", () => {
  for (let n = 1; n <= leaves.length; n++) {
    for (let m = 0; m <= n; m++) {
      const proof = consistencyProof(m, n, frontiers[m]!, leaves.slice(m, n));
      verifyConsistency(m, n, frontierRoot(frontiers[m]!), frontierRoot(frontiers[n]!), proof);
    }
  }
});

test("the proofs equal RFC 6962's published consistency vectors", () => {
  const v = JSON.parse(readFileSync(`${import.meta.dir}/../fixtures/rfc6962/consistency.json`, "utf8"));
  const t = JSON.parse(readFileSync(`${import.meta.dir}/../fixtures/rfc6962/tree.json`, "utf8"));
  const ls: Hash[] = (t.leaves as string[]).map((h) => hashLeaf(Buffer.from(h, "hex")));
  const fs: Hash[][] = [[]];
  for (let i = 0; i < ls.length; i++) fs.push(appendLeaf(fs[i]!, i, ls[i]!));
  let checked = 0;
  for (const c of v.cases ?? v) {
    if (c.valid !== true || !(c.size1 > 0 && c.size2 <= ls.length)) continue;
    const got = consistencyProof(c.size1, c.size2, fs[c.size1]!, ls.slice(c.size1, c.size2)).map((h) => Buffer.from(h).toString("hex"));
    expect(got).toEqual(c.proof);
    checked++;
  }
  expect(checked).toBeGreaterThan(3);
});
