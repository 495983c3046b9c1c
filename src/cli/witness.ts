/**
 * `ato witness init --state DIR --name NAME [--pkcs11]`: makes the witness's Ed25519 key (a
 * 0600 key file in DIR, or the token's key named by HSM_KEY_LABEL) and prints its verifier key.
 * `ato witness serve --state DIR --log ORIGIN=PUBKEY.pem … [--listen ADDR:PORT] [--config FILE]`:
 * the c2sp.org/tlog-witness server. SIGINT/SIGTERM stop it; its state is always on disk.
 */
import { defineCommand } from "citty";
import { log } from "../agent/log.ts";
import { join } from "node:path";
import { RefusedRequests, Witness, WitnessState, initWitness, openWitnessKey, serveSettings, serveWitness, witnessMetrics } from "../witness/index.ts";

const init = defineCommand({
  meta: { name: "init", description: "create the witness key in DIR and print its verifier key (signed-note vkey, type 0x04)" },
  args: {
    state: { type: "string", description: "state directory (created; holds identity.json, the key file and the cosigned state)", required: true },
    name: { type: "string", description: "the witness's key name, a schema-less URL such as witness.example.org/w1", required: true },
    pkcs11: { type: "boolean", description: "use the Ed25519 key on the PKCS#11 token (PKCS11_MODULE_PATH, HSM_TOKEN_LABEL, HSM_KEY_LABEL, PKCS11_PIN) instead of a key file" },
  },
  run({ args }) {
    const key = initWitness(args.state, args.name, args.pkcs11 ? {} : undefined);
    console.log(key.vkey);
    key.close();
  },
});

const vkey = defineCommand({
  meta: { name: "vkey", description: "print the verifier key of the witness in DIR" },
  args: { state: { type: "string", description: "state directory", required: true } },
  run({ args }) {
    const key = openWitnessKey(args.state);
    console.log(key.vkey);
    key.close();
  },
});

const serve = defineCommand({
  meta: { name: "serve", description: "serve POST /add-checkpoint (c2sp.org/tlog-witness), /metrics and /healthz" },
  args: {
    listen: { type: "string", description: "ADDR:PORT (default 127.0.0.1:7380)" },
    state: { type: "string", description: "state directory made by 'ato witness init'" },
    log: { type: "string", description: "ORIGIN=PUBKEY.pem, ORIGIN=KEYNAME:PUBKEY.pem or ORIGIN=VKEY: a log to witness (repeatable)" },
    config: { type: "string", description: "JSON file with listen, state and logs" },
  },
  async run({ args, rawArgs }) {
    const logs = rawArgs.flatMap((a, i) => (a === "--log" && rawArgs[i + 1] ? [rawArgs[i + 1]!] : a.startsWith("--log=") ? [a.slice(6)] : []));
    const s = serveSettings({ listen: args.listen, state: args.state, logs, config: args.config });
    const state = WitnessState.open(s.state);
    const key = openWitnessKey(s.state);
    const refused = new RefusedRequests(join(s.state, "refused"), (m) => log(`witness: ${m}`));
    const witness = new Witness(key, s.logs, state, undefined, (o, status, body) => refused.keep(o, status, body));
    const metrics = witnessMetrics(() => s.logs.size, () => state.size);
    const server = serveWitness(witness, metrics, s.listen, { onLog: (m) => log(`witness: ${m}`) });
    log(`witness ${key.name} on ${server.url}/add-checkpoint`, { logs: s.logs.size, vkey: key.vkey });
    await new Promise<void>((resolve) => {
      const stop = async (sig: string) => {
        log(`received ${sig}, stopping`);
        await server.stop();
        key.close();
        resolve();
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
    });
  },
});

export default defineCommand({
  meta: { name: "witness", description: "a C2SP tlog-witness: cosigns the checkpoints of logs it trusts, never two inconsistent ones" },
  subCommands: { init, vkey, serve },
});

