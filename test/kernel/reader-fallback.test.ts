/**
 * When the flow map reader leaves batch lookups: only when the kernel says a map has none
 * (a DEVMAP_HASH, made with bpftool, has get_next_key and lookups but no batch operations:
 * ENOTSUPP), never on another failure, which is an AtoError naming the batch lookup. The
 * reader's buffers are larger than that map's 4-byte keys and values, so it reads it safely.
 * Needs root (bpffs).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { closeFd, mapUpdate, objGet } from "../../ffi/libbpf.ts";
import { AtoError } from "../../src/errors.ts";
import { FlowMapReader } from "../../src/kernel/index.ts";
import { loadForTest } from "../support/bpf.ts";

const pin = `/sys/fs/bpf/ato-test-devmap-${process.pid}-${randomBytes(3).toString("hex")}`;
let devmap = -1;
const LOOPBACK = 1; // a DEVMAP_HASH value is the ifindex of a device that exists

beforeAll(() => {
  const made = Bun.spawnSync(["bpftool", "map", "create", pin, "type", "devmap_hash", "key", "4", "value", "4", "entries", "128", "name", "ato_test_dev"], { stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`bpftool map create: ${made.stderr}`);
  devmap = objGet(pin);
  for (let i = 0; i < 100; i++) mapUpdate(devmap, new Uint8Array(new Uint32Array([i]).buffer), new Uint8Array(new Uint32Array([LOOPBACK]).buffer));
});
afterAll(() => {
  closeFd(devmap);
  rmSync(pin, { force: true });
});

describe("[kernel] FlowMapReader falls back to key-by-key reads", () => {
  test("when the kernel has no batch lookups for the map (ENOTSUPP): every entry is read key by key", () => {
    const reader = new FlowMapReader(devmap, 16);
    expect(reader.method).toBe("batch");
    const flows = reader.readAll();
    expect(reader.method).toBe("keys");
    // Each 4-byte key lands in the first word of a flow key; each value (1) in its CPU 0 packet count.
    const keys = flows.map((f) => new DataView(f.rawKey.buffer, f.rawKey.byteOffset).getUint32(0, true)).sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(flows.every((f) => f.counts.packets === 1n)).toBe(true);
  });

  test("a read that asks for batch lookups on such a map is an AtoError saying they are not supported", () => {
    let err: unknown;
    try {
      new FlowMapReader(devmap, 16).readAll("batch");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtoError);
    expect((err as AtoError).message).toContain("does not support batch lookups");
  });
});

describe("[kernel] FlowMapReader does not fall back", () => {
  test("on any other failure of the batch lookup: an AtoError naming it (here EINVAL: the fd is a program, not a map)", () => {
    const bpf = loadForTest({}, 1024);
    try {
      const reader = new FlowMapReader(bpf.auditor.progFd, 16);
      let err: unknown;
      try {
        reader.readAll();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AtoError);
      expect((err as AtoError).code).toBe("BPF");
      expect((err as AtoError).message).toBe("batch map lookup: Invalid argument");
      expect(reader.method).toBe("batch");
    } finally {
      bpf.cleanup();
    }
  });
});
