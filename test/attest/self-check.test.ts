/**
 * The self-check's look at the pins, on the real program's maps (bpffs, bpftool): each interval a pin costs a
 * stat while its inode is the one that last named the agent's map, and is opened again only when that inode
 * changed; a removal, another map moved over it, or a chmod are all seen. [kernel, root]
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, renameSync, rmSync } from "node:fs";
import { MAPS } from "../../src/kernel/index.ts";
import { mapId } from "../../src/kernel/identity.ts";
import { SelfCheck } from "../../src/attest/self-check.ts";
import { loadForTest } from "../support/bpf.ts";

let loaded: ReturnType<typeof loadForTest> | undefined;
let self: SelfCheck | undefined;
const extra: string[] = [];
afterEach(() => {
  self?.close();
  self = undefined;
  loaded?.cleanup();
  loaded = undefined;
  for (const p of extra.splice(0)) rmSync(p, { force: true });
});

function bpftool(args: string[]): string {
  const r = Bun.spawnSync(["bpftool", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bpftool ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function start() {
  loaded = loadForTest();
  const a = loaded.auditor;
  const maps = Object.fromEntries((Object.keys(MAPS) as (keyof typeof MAPS)[]).map((k) => [MAPS[k], a.mapFd(k)]));
  self = SelfCheck.start({ progFd: a.progFd, pinDir: loaded.pinDir, attachments: [], maps });
  return { self, pinDir: loaded.pinDir, flows: mapId(a.mapFd("flows")) };
}

describe("[kernel] the self-check's pins", () => {
  test("a pin whose inode did not change is not opened again; a chmod (same map, new ctime) is one more look and no finding", () => {
    const { self, pinDir } = start();
    expect(self.check()).toEqual([]);
    expect(self.pinsOpened).toBe(4); // the first look opens each of the four pins
    for (let i = 0; i < 5; i++) expect(self.check()).toEqual([]);
    expect(self.pinsOpened).toBe(4);
    chmodSync(`${pinDir}/${MAPS.flows}`, 0o600);
    expect(self.check()).toEqual([]);
    expect(self.check()).toEqual([]);
    expect(self.pinsOpened).toBe(5);
  });

  test("every pin is opened again at every 60th look, its inode notwithstanding (a recycled inode number misses a swap for a minute at most)", () => {
    const { self } = start();
    for (let i = 1; i <= 59; i++) expect(self.check()).toEqual([]);
    expect(self.pinsOpened).toBe(4); // the first look only
    expect(self.check()).toEqual([]); // the 60th
    expect(self.pinsOpened).toBe(8);
    for (let i = 61; i <= 120; i++) expect(self.check()).toEqual([]);
    expect(self.pinsOpened).toBe(12);
  });

  test("a pin removed, then another map renamed over it: both found at the next look, ours pinned back each time", () => {
    const { self, pinDir, flows } = start();
    expect(self.check()).toEqual([]);
    const pin = `${pinDir}/${MAPS.flows}`;
    rmSync(pin);
    const gone = self.check();
    expect(gone.map((f) => [f.tamper, f.subject])).toEqual([["map_unpinned", pin]]);
    expect(self.check()).toEqual([]); // pinned back: the new inode is looked at once, and names ours
    const foreignPin = `${pinDir}/foreign_map`;
    bpftool(["map", "create", foreignPin, "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "flow_map"]);
    const foreign = JSON.parse(bpftool(["-j", "map", "show", "pinned", foreignPin])).id as number;
    renameSync(foreignPin, pin);
    extra.push(`${pin}_displaced_${foreign}`);
    const swapped = self.check();
    expect(swapped.map((f) => f.tamper)).toEqual(["map_swapped"]);
    expect(swapped[0]).toMatchObject({ expected: { id: flows }, found: { id: foreign } });
    expect(JSON.parse(bpftool(["-j", "map", "show", "pinned", pin])).id).toBe(flows);
    expect(self.check()).toEqual([]);
  });
});
