/** Signing latency on SoftHSM: one signature per checkpoint must stay far below a checkpoint interval. */
import { afterEach, describe, expect, test } from "bun:test";
import { openSigner, type CheckpointSigner } from "../../src/signer/index.ts";
import { createToken, type TestToken } from "../support/softhsm.ts";

let token: TestToken | undefined;
let signer: CheckpointSigner | undefined;
afterEach(() => {
  signer?.close();
  token?.cleanup();
  signer = token = undefined;
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

for (const keyType of ["ed25519", "ecdsa-p256"] as const) {
  describe(`[hsm] ${keyType} signing latency`, () => {
    test("median of 200 signatures is under 20 ms", async () => {
      token = await createToken({ keyType });
      signer = openSigner({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: token.keyLabel });
      const body = new TextEncoder().encode(`example.org/ato\n123456\n${"A".repeat(44)}\n`);
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = Bun.nanoseconds();
        signer.sign(body);
        times.push((Bun.nanoseconds() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      const median = percentile(times, 0.5);
      console.log(`${keyType}: median ${median.toFixed(3)} ms, p99 ${percentile(times, 0.99).toFixed(3)} ms over 200 signs (SoftHSM)`);
      expect(median).toBeLessThan(20);
    });
  });
}
