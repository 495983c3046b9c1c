/**
 * Which capability `ato run` lacks, read from a /proc/<pid>/status CapEff mask: CAP_BPF,
 * CAP_NET_ADMIN and CAP_PERFMON, or CAP_SYS_ADMIN standing for the first and the last (kernels
 * before 5.8). The real refusals are in test/deploy/capabilities.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { CAPS, capState, lacking, type CapName } from "../../src/kernel/caps.ts";

const status = (caps: CapName[], uid = 1000) =>
  `Name:\tato\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nCapEff:\t${caps.reduce((m, c) => m | (1n << CAPS[c]), 0n).toString(16).padStart(16, "0")}\n`;

describe("capState", () => {
  test("root's full set lacks nothing", () => {
    expect(capState("Uid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n").missing).toEqual([]);
  });

  test("the unit's set lacks nothing", () => {
    expect(capState(status(["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_LINUX_IMMUTABLE"])).missing).toEqual([]);
  });

  test("CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON, not for CAP_NET_ADMIN", () => {
    expect(capState(status(["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])).missing).toEqual([]);
    expect(capState(status(["CAP_SYS_ADMIN"])).missing).toEqual(["CAP_NET_ADMIN"]);
  });

  test("each missing one is named, in a sentence with the uid", () => {
    expect(capState(status(["CAP_NET_ADMIN", "CAP_PERFMON"])).missing).toEqual(["CAP_BPF"]);
    expect(lacking(capState(status(["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])))).toBe("");
    expect(lacking(capState(status([], 4242)))).toBe("this process (uid 4242) lacks CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON");
    expect(lacking(capState(status(["CAP_BPF", "CAP_NET_ADMIN"])))).toBe("this process (uid 1000) lacks CAP_PERFMON");
  });

  test("a status without CapEff holds nothing", () => {
    expect(capState("Name:\tx\n").missing).toEqual(["CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"]);
  });
});
