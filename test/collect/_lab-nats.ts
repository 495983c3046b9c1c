/**
 * A nats-server JetStream cluster inside a lab namespace (scripts/lab.ts), so that agents in
 * both lab hosts reach it over the lab's veth or locally: clients on the host's lab address,
 * routes on the namespace's own loopback. The namespace is new, so fixed ports are free in it.
 * The test process lives outside the namespace: the stream is made by a helper run inside it.
 */
import type { Subprocess } from "bun";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LabNats {
  urls: string[];
  stop(): Promise<void>;
}

const CLIENT = 4222;
const ROUTE = 6222;

export async function startLabNats(ns: string, address: string, dir: string, nodes: number): Promise<LabNats> {
  const procs: Subprocess[] = [];
  const urls: string[] = [];
  const stop = async () => {
    for (const p of procs.splice(0)) {
      p.kill("SIGKILL");
      await p.exited;
    }
  };
  try {
    for (let i = 0; i < nodes; i++) {
      const name = `n${i + 1}`;
      const store = join(dir, name);
      mkdirSync(store, { recursive: true });
      const routes = Array.from({ length: nodes }, (_, j) => j).filter((j) => j !== i).map((j) => `nats-route://127.0.0.1:${ROUTE + j}`);
      const conf = join(dir, `${name}.conf`);
      writeFileSync(conf, [
        `server_name: ${name}`,
        `listen: ${address}:${CLIENT + i}`,
        `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 1GB }`,
        nodes > 1 ? `cluster { name: atofleet, listen: 127.0.0.1:${ROUTE + i}, routes: [${routes.join(", ")}] }` : "",
      ].join("\n"));
      procs.push(Bun.spawn(["nsenter", `--net=/run/netns/${ns}`, "nats-server", "-c", conf], { stdout: "ignore", stderr: "ignore" }));
      urls.push(`nats://${address}:${CLIENT + i}`);
    }
    return { urls, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function inNs(ns: string, args: string[]): void {
  const r = Bun.spawnSync(["nsenter", `--net=/run/netns/${ns}`, "bun", join(import.meta.dir, "_lab-stream.ts"), ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`_lab-stream.ts ${args[0]} in ${ns}: ${r.stderr.toString()}`);
}

/** Makes the stream from inside the namespace (retrying while the cluster elects its leader). */
export function createLabStream(ns: string, urls: string[], stream: string, replicas: number): void {
  inNs(ns, ["create", urls.join(","), stream, String(replicas)]);
}

/** Removes the stream message that carries `origin`'s line `seq`: a gap for the collector. */
export function deleteFromLabStream(ns: string, urls: string[], stream: string, origin: string, seq: number): void {
  inNs(ns, ["delete", urls.join(","), stream, origin, String(seq)]);
}
