/**
 * The build for kernels before 5.12 is loaded only for the one refusal it exists for: 5.10's verifier refusing a
 * global function's pointer argument (EINVAL). The kernel matrix boots 5.10 for the real thing; here, the message
 * as 5.10 words it, the refusals that must not fall back, and a kernel that takes the first object keeping it.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AtoError } from "../../src/errors.ts";
import { refusedGlobalFunction } from "../../src/kernel/fallback.ts";
import { XdpAuditor } from "../../src/kernel/index.ts";
import { errnoName } from "../../ffi/libbpf.ts";
import { COMPAT_OBJECT, OBJECT, uniquePinDir } from "../support/bpf.ts";

// The log bullseye's 5.10.0-46 verifier gave for xdp_audit.o, as the kernel matrix's console kept it.
const LOG_510 = "Validating parse_l4() func#1...\nArg#2 type PTR in parse_l4() is not supported yet.\nprocessed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0";
const refusal = (errno: number, details: string, code: "VERIFIER" | "BPF" = "VERIFIER") =>
  new AtoError(`the kernel's BPF verifier rejected /x/xdp_audit.o: ${errnoName(errno)}`, code, { details });

const pins: string[] = [];
afterEach(() => { for (const p of pins.splice(0)) rmSync(p, { recursive: true, force: true }); });

test("5.10's refusal of a pointer argument in a global function is recognised, naming the function", () => {
  expect(refusedGlobalFunction(refusal(22, LOG_510))).toBe("parse_l4");
});

test("any other refusal is not: another verifier complaint, another errno, another error code", () => {
  expect(refusedGlobalFunction(refusal(22, "R1 invalid mem access 'inv'\nprocessed 12 insns"))).toBeUndefined();
  expect(refusedGlobalFunction(refusal(13, LOG_510))).toBeUndefined();
  expect(refusedGlobalFunction(refusal(22, LOG_510, "BPF"))).toBeUndefined();
  expect(refusedGlobalFunction(new Error(LOG_510))).toBeUndefined();
});

test("[kernel] a kernel that takes the first object runs it, with the fallback offered", () => {
  const pinDir = uniquePinDir("fallback");
  pins.push(pinDir);
  const a = XdpAuditor.load({ objectPath: OBJECT, fallbackPath: COMPAT_OBJECT, pinDir, maxFlows: 16 });
  try {
    expect(a.object).toEqual({ path: OBJECT });
  } finally {
    a.close();
  }
});

test("[kernel] an object that fails to load for another reason is reported as it is, the fallback never tried", () => {
  const dir = mkdtempSync(join(tmpdir(), "ato-fallback-"));
  pins.push(dir, uniquePinDir("fallback"));
  const broken = join(dir, "xdp_audit.o");
  writeFileSync(broken, readFileSync(OBJECT).subarray(0, 4096));
  let caught: unknown;
  try {
    XdpAuditor.load({ objectPath: broken, fallbackPath: COMPAT_OBJECT, pinDir: pins[1]!, maxFlows: 16 }).close();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AtoError);
  expect((caught as AtoError).message).toContain(broken);
});
