/**
 * A quiet map is not read: when the kernel's program saw no frame since the last read and no
 * flow's idle or active timeout has come, a cycle skips the map (it reads one counter). A
 * frame, a timeout coming due, or the final collection brings the full read back. Frames go
 * through the real XDP program (BPF_PROG_TEST_RUN); one flow is written from user space, which
 * the kernel's frame counter does not see, to show whether a cycle read the map.
 */
import { describe, expect, test } from "bun:test";
import { Collector } from "../../src/collector/index.ts";
import { FlowMapReader, readCounters } from "../../src/kernel/index.ts";
import { Masker } from "../../src/mask/index.ts";
import { IPPROTO, tcp, v4Frame } from "../support/frames.ts";
import { openLog, tempDir } from "../log/_helpers.ts";
import { bpf, fd, h, HOUR_NS, lines, put, useCollectorLab } from "./_lab.ts";

useCollectorLab();
const S = 1_000_000_000n;
const frame = (sport: number) => v4Frame({ src: "198.18.21.1", dst: "198.18.21.2", proto: IPPROTO.TCP }, tcp(sport, 443, 0x10)).frame;

function quietCollector(idleTimeoutNs: bigint, activeTimeoutNs: bigint) {
  const dir = tempDir("ato-collector-quiet-");
  const log = openLog(dir, h, { checkpointEvery: 1000 });
  const masker = Masker.open({});
  const collector = new Collector({
    reader: new FlowMapReader(fd(), 256), masker, log, idleTimeoutNs, activeTimeoutNs, ifaceName: () => "lo",
    packetsSeen: () => readCounters(bpf.auditor.mapFd("counters")).packets,
  });
  return { dir, log, masker, collector };
}

describe("a quiet map", () => {
  test("is not read until a frame arrives; then every flow is read again", async () => {
    const { dir, log, masker, collector } = quietCollector(HOUR_NS, 0n);
    collector.start();
    bpf.run(frame(40001), 3);
    expect(await collector.cycle()).toMatchObject({ flows: 1, records: 1 });
    put(7, [5]); // a flow the frame counter never saw
    expect(await collector.cycle()).toMatchObject({ flows: 1, records: 0 }); // skipped: the new entry is not read
    bpf.run(frame(40001), 2);
    const c = await collector.cycle();
    expect(c).toMatchObject({ flows: 2, records: 2 });
    expect(c.byProto.get(6)!.packets).toBe(2 + 5);
    expect(await collector.cycle()).toMatchObject({ flows: 2, records: 0 });
    log.close();
    masker.close();
    // Every packet in a record: 3 + 2 of the frames' flow, 5 of the other, read once the map was read again.
    expect(lines(dir).filter((l) => l.kind === "flow").map((l) => l.data.packets).sort()).toEqual([2, 3, 5]);
  });

  test("is read once a flow's idle timeout comes, and the ended flow gets its record", async () => {
    const { dir, log, masker, collector } = quietCollector(300_000_000n, 0n); // idle after 0.3 s
    collector.start();
    bpf.run(frame(40002), 4);
    expect(await collector.cycle()).toMatchObject({ flows: 1, records: 1 });
    expect(await collector.cycle()).toMatchObject({ records: 0, removed: 0 });
    await Bun.sleep(400);
    expect(await collector.cycle()).toMatchObject({ removed: 1 });
    log.close();
    masker.close();
    expect(lines(dir).filter((l) => l.kind === "flow").map((l) => l.data.packets)).toEqual([4]);
  });

  test("is read once a flow's active timeout comes, and its waiting growth is recorded (active)", async () => {
    const { dir, log, masker, collector } = quietCollector(HOUR_NS, 1n * S);
    collector.start();
    bpf.run(frame(40003), 6);
    expect(await collector.cycle()).toMatchObject({ flows: 1, records: 0 }); // young: waits
    expect(await collector.cycle()).toMatchObject({ records: 0 });
    await Bun.sleep(1100);
    expect(await collector.cycle()).toMatchObject({ records: 1, reasons: { active: 1 } });
    log.close();
    masker.close();
    expect(lines(dir).filter((l) => l.kind === "flow").map((l) => [l.data.packets, l.data.reason])).toEqual([[6, "active"]]);
  });

  test("the final collection reads the map whatever the counter says", async () => {
    const { dir, log, masker, collector } = quietCollector(HOUR_NS, 60n * S);
    collector.start();
    bpf.run(frame(40004), 2);
    expect(await collector.cycle()).toMatchObject({ records: 0 });
    put(8, [3]);
    expect(await collector.cycle()).toMatchObject({ flows: 1 });
    expect(await collector.cycle({ final: true })).toMatchObject({ flows: 2, records: 2, reasons: { shutdown: 2 } });
    log.close();
    masker.close();
    expect(lines(dir).filter((l) => l.kind === "flow").map((l) => l.data.packets).sort()).toEqual([2, 3]);
  });
});
