/**
 * The self-check's XDP query on its kept rtnetlink socket says what libbpf's bpf_xdp_query_id says, for the
 * real program attached natively and generically on a lab veth, and for nothing attached; for an interface that
 * does not exist, libbpf answers; another socket cannot slip it an answer. [kernel, root]
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLab, type Lab } from "../../scripts/lab.ts";
import { OBJECT, uniquePinDir } from "../support/bpf.ts";

let lab: Lab;
beforeAll(() => { lab = createLab(); });
afterAll(() => lab?.destroy());

describe("[kernel] XdpQuery", () => {
  test("agrees with libbpf in every mode, attached natively, generically and not at all; a missing interface is libbpf's answer", () => {
    const pinDir = uniquePinDir("xdpq");
    const r = Bun.spawnSync(["nsenter", `--net=/run/netns/${lab.server.ns}`, "bun", `${import.meta.dir}/_xdp-query-child.ts`, lab.server.dev, pinDir, OBJECT], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout.toString());
    for (const mode of ["drv", "skb"]) {
      const rows = out[mode].program as { mode: string; netlink: number; libbpf: number }[];
      for (const row of rows) expect({ mode, ...row, netlink: row.netlink }).toEqual({ mode, ...row, netlink: row.libbpf });
      const attached = rows.find((x) => x.mode === mode)!;
      expect(attached.netlink).toBeGreaterThan(0); // the program is there, in the mode it was attached in
      expect(rows.filter((x) => x.mode !== mode).every((x) => x.netlink === 0)).toBe(true);
    }
    expect(out.detached).toEqual([{ mode: "drv", netlink: 0, libbpf: 0 }, { mode: "skb", netlink: 0, libbpf: 0 }, { mode: "hw", netlink: 0, libbpf: 0 }]);
    // The kernel's error for an interface that does not exist is handed to libbpf, which answers as it always did.
    expect(out.missing).toEqual({ netlink: out.missing.libbpf, libbpf: 0 });
    // Every answer but that one came from the kept socket.
    expect(out.answered).toEqual({ netlink: 9, libbpf: 1 });
    // The kept socket is connected to the kernel: a forged answer from another socket is refused (ECONNREFUSED),
    // so nothing but the kernel's reply can be read as the program attached.
    expect(out.forged).toEqual({ port: true, send: -111 });
    expect(out.afterForgery).toEqual({ mode: "drv", netlink: 0, libbpf: 0 });
  });
});
