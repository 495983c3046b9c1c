/** A small log for witness tests: real leaves, real roots, checkpoints signed with a real Ed25519 key. */
import { generateKeyPairSync, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import { checkpointBody, formatSignedNote, keyId } from "../../src/evidence/index.ts";
import { appendLeaf, frontierRoot, hashLeaf, type Hash } from "../../src/tree/index.ts";
import { consistencyProof } from "../../src/witness/proof.ts";
import { formatAddCheckpoint } from "../../src/witness/index.ts";

export class TestLog {
  readonly leaves: Hash[] = [];
  readonly frontiers: Hash[][] = [[]];
  readonly spki: Uint8Array;

  constructor(readonly origin: string, size = 0, private readonly salt = "", private readonly key = generateKeyPairSync("ed25519")) {
    this.spki = Uint8Array.from(key.publicKey.export({ format: "der", type: "spki" }));
    this.grow(size);
  }

  /** The same origin and signing key over other lines from `keep` on: what a rewritten history looks like. */
  fork(keep: number, size: number, salt: string): TestLog {
    const f = new TestLog(this.origin, 0, "", this.key);
    for (let i = 0; i < keep; i++) f.push(this.leaves[i]!);
    const forked = new TestLog(this.origin, 0, salt, this.key);
    for (let i = keep; i < size; i++) f.push(forked.leafAt(i));
    return f;
  }

  private leafAt(i: number): Hash {
    return hashLeaf(new TextEncoder().encode(`${this.salt}line ${i}`));
  }

  private push(leaf: Hash): void {
    const n = this.leaves.length;
    this.leaves.push(leaf);
    this.frontiers.push(appendLeaf(this.frontiers[n]!, n, leaf));
  }

  grow(count: number): this {
    for (let i = 0; i < count; i++) this.push(this.leafAt(this.leaves.length));
    return this;
  }

  get size(): number {
    return this.leaves.length;
  }

  root(size = this.size): Hash {
    return frontierRoot(this.frontiers[size]!);
  }

  writePem(path: string): string {
    writeFileSync(path, this.key.publicKey.export({ format: "pem", type: "spki" }) as string);
    return path;
  }

  note(size = this.size, keyName = this.origin): string {
    const text = checkpointBody({ origin: this.origin, size, root: this.root(size) });
    const signature = Uint8Array.from(sign(null, Buffer.from(text), this.key.privateKey));
    return formatSignedNote(text, [{ keyName, keyId: keyId(keyName, "ed25519", this.spki), signature }]);
  }

  proof(from: number, to = this.size): Hash[] {
    return consistencyProof(from, to, this.frontiers[from]!, this.leaves.slice(from, to));
  }

  request(from: number, to = this.size): string {
    return formatAddCheckpoint({ oldSize: from, proof: this.proof(from, to), note: this.note(to) });
  }
}
