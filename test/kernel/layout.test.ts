/**
 * The TypeScript mirror of bpf/xdp_audit.h agrees with the structs the compiler actually laid
 * out, as the object's BTF records them (read with bpftool, an outside reader).
 */
import { describe, expect, test } from "bun:test";
import { COUNTERS_FIELDS, COUNTERS_SIZE, CONFIG, EVENT, FLOW_KEY, FLOW_VALUE } from "../../src/kernel/layout.ts";
import { OBJECT } from "../support/bpf.ts";

type BtfStruct = { size: number; members: Record<string, number> };

function btfStructs(): Record<string, BtfStruct> {
  const r = Bun.spawnSync(["bpftool", "-j", "btf", "dump", "file", OBJECT]);
  expect(r.exitCode).toBe(0);
  const types = JSON.parse(r.stdout.toString()).types as { kind: string; name: string; size: number; members?: { name: string; bits_offset: number }[] }[];
  return Object.fromEntries(types.filter((t) => t.kind === "STRUCT").map((t) => [
    t.name,
    { size: t.size, members: Object.fromEntries((t.members ?? []).map((m) => [m.name, m.bits_offset / 8])) },
  ]));
}

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

function expectMirror(btf: BtfStruct | undefined, mirror: Record<string, number>) {
  expect(btf).toBeDefined();
  const { size, ...fields } = mirror;
  expect(btf!.size).toBe(size!);
  const fromBtf = Object.fromEntries(Object.entries(btf!.members).map(([k, v]) => [camel(k), v]));
  expect(fromBtf).toEqual(fields);
}

describe("[kernel] shared structs", () => {
  const btf = btfStructs();

  test("flow_key", () => expectMirror(btf.flow_key, FLOW_KEY));
  test("flow_value", () => expectMirror(btf.flow_value, FLOW_VALUE));
  test("audit_config", () => expectMirror(btf.audit_config, CONFIG));
  test("audit_event", () => {
    const { key, ...rest } = EVENT;
    expectMirror(btf.audit_event, { ...rest, key });
  });
  test("audit_counters: every field, in order, 8 bytes each", () => {
    const c = btf.audit_counters!;
    expect(c.size).toBe(COUNTERS_SIZE);
    COUNTERS_FIELDS.forEach((f, i) => expect([f, c.members[f]]).toEqual([f, i * 8]));
  });
});
