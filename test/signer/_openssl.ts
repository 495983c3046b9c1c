/** OpenSSL as the independent judge of ato's signatures and public keys. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SignatureAlgorithm } from "../../src/signer/index.ts";

/** Verifies with the openssl CLI, the way a user would; returns what OpenSSL said. */
export function opensslVerify(algorithm: SignatureAlgorithm, pemPath: string, message: Uint8Array, signature: Uint8Array, dir: string) {
  const msg = join(dir, "msg.bin");
  const sig = join(dir, "sig.bin");
  writeFileSync(msg, message);
  writeFileSync(sig, signature);
  const cmd =
    algorithm === "ed25519"
      ? ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pemPath, "-rawin", "-in", msg, "-sigfile", sig]
      : ["openssl", "dgst", "-sha256", "-verify", pemPath, "-signature", sig, msg];
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const output = `${r.stdout.toString()}${r.stderr.toString()}`;
  const expected = algorithm === "ed25519" ? "Signature Verified Successfully" : "Verified OK";
  return { ok: r.exitCode === 0 && output.includes(expected), output };
}

export function flipByte(b: Uint8Array, index = b.length >> 1): Uint8Array {
  const c = Uint8Array.from(b);
  c[index]! ^= 0x01;
  return c;
}

/** `bun src/main.ts …` with extra environment; stdin is not a terminal. */
export function ato(args: string[], env: Record<string, string | undefined>) {
  const r = Bun.spawnSync(["bun", join(import.meta.dir, "../../src/main.ts"), ...args], {
    env: { ...process.env, ...env } as Record<string, string>,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
