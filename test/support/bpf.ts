/**
 * The real XDP program, loaded for a test: a unique pin directory on bpffs, frames run through
 * BPF_PROG_TEST_RUN, the maps read back the way `ato flows` reads them. cleanup() closes the
 * object and removes the pins, also after a failed test.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { closeFd, mapDelete, mapUpdate, objGet, possibleCpus, testRun } from "../../ffi/libbpf.ts";
import {
  COUNTERS_SIZE, DEFAULT_CONFIG, FlowMapReader, MAPS, percpuStride, readCounters, XdpAuditor, type AuditConfig,
} from "../../src/kernel/index.ts";

export const OBJECT = `${import.meta.dir}/../../dist/xdp_audit.o`;
/** The same program built for kernels before 5.12 (parse_l4 inlined, no coarse clock): it must parse alike. */
export const COMPAT_OBJECT = `${import.meta.dir}/../../dist/xdp_audit_compat.o`;
export const OBJECTS = [{ name: "xdp_audit.o", path: OBJECT }, { name: "xdp_audit_compat.o", path: COMPAT_OBJECT }] as const;
export const XDP_PASS = 2;

export function uniquePinDir(tag: string): string {
  return `/sys/fs/bpf/ato-test-${tag}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/**
 * Deletes the flow to `dport` from a running agent's pinned flow map, as `bpftool map delete` would: a tampering
 * from outside. Returns the packets the kernel had counted for it.
 */
export function deleteFlowTo(pinDir: string, dport: number): bigint {
  const fd = objGet(`${pinDir}/${MAPS.flows}`);
  try {
    const f = new FlowMapReader(fd).readAll().find((x) => x.key.dport === dport);
    if (!f) throw new Error(`no flow to port ${dport} in ${pinDir}`);
    mapDelete(fd, f.rawKey);
    return f.counts.packets;
  } finally {
    closeFd(fd);
  }
}

export function loadForTest(config: Partial<AuditConfig> = {}, maxFlows?: number, objectPath: string = OBJECT) {
  const pinDir = uniquePinDir("prog");
  const auditor = XdpAuditor.load({ objectPath, pinDir, maxFlows });
  auditor.configure({ ...DEFAULT_CONFIG, ...config });
  const reader = new FlowMapReader(auditor.mapFd("flows"));
  return {
    auditor,
    pinDir,
    /** Runs one frame through the program; returns its XDP action. */
    run(frame: Uint8Array, repeat = 1): number {
      return testRun(auditor.progFd, frame, repeat).retval;
    },
    flows: () => reader.readAll(),
    counters: () => readCounters(auditor.mapFd("counters")),
    /** Empties the flow map and zeroes the counters, between cases. */
    reset(): void {
      for (const f of reader.readAll()) mapDelete(auditor.mapFd("flows"), f.rawKey);
      mapUpdate(auditor.mapFd("counters"), new Uint8Array(4), new Uint8Array(percpuStride(COUNTERS_SIZE) * possibleCpus()));
    },
    cleanup(): void {
      auditor.close();
      rmSync(pinDir, { recursive: true, force: true });
    },
  };
}
