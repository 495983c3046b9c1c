/**
 * `ato doctor`: the preflight of `ato run`. One line per check, and for each failure the fix. It reads the same
 * configuration as `ato run` (flags, environment, --config file), changes nothing on the host (the audit
 * directory probe file is removed again), and exits 0 when every check passes, 1 otherwise.
 */
import { defineCommand } from "citty";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statfsSync, statSync, unlinkSync, writeSync } from "node:fs";
import { release } from "node:os";
import { join, resolve } from "node:path";
import { CAPS, capState, type CapName } from "../kernel/caps.ts";
import { isAtoError } from "../errors.ts";
import { resolveConfig, type AgentConfig, type Flags } from "../config/index.ts";
import { bindError, parseListen } from "../metrics/listen.ts";
import { commandArgs, typedFlags } from "./_args.ts";

type Status = "ok" | "fail" | "skip";
export interface Check {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

const ok = (name: string, detail: string): Check => ({ name, status: "ok", detail });
const fail = (name: string, detail: string, fix: string): Check => ({ name, status: "fail", detail, fix });
const skip = (name: string, detail: string): Check => ({ name, status: "skip", detail });

export default defineCommand({
  meta: { name: "doctor", description: "check that this host can run the agent: kernel, BTF, privileges, bpffs, interface, BPF object, HSM, audit directory, port" },
  args: commandArgs("doctor"),
  async run({ args, rawArgs }) {
    const checks = await runChecks(typedFlags("doctor", args, rawArgs));
    const passed = checks.every((c) => c.status !== "fail");
    if (args.json) console.log(JSON.stringify({ ok: passed, checks }));
    else console.log(render(checks));
    if (!passed) exitOne();
    return passed ? 0 : 1;
  },
});

/**
 * citty's runCommand() drops a subcommand's return value, so main.ts sees no result and exits 0. Until it passes
 * the result on, the failing exit status is set as the process ends (only if nothing else set one).
 */
function exitOne(): void {
  process.once("exit", (code) => {
    if (code === 0) process.exitCode = 1;
  });
}

export async function runChecks(flags: Flags, env = process.env): Promise<Check[]> {
  const checks = [kernel(), btf(), privileges()];
  let config: AgentConfig;
  try {
    config = resolveConfig({ flags, env });
  } catch (e) {
    if (!isAtoError(e)) throw e;
    checks.push(fail("configuration", e.message, "correct that setting; `ato run --print-config` shows the effective configuration"));
    for (const name of ["bpffs", "interface", "bpf object", "bpf program", "pkcs11 module", "hsm key", "audit directory", "listen"]) checks.push(skip(name, "not checked: the configuration is invalid"));
    return checks;
  }
  checks.push(ok("configuration", config.configFile ? `valid (file ${config.configFile})` : "valid"));
  checks.push(bpffs(config.pinDir), ...(await interfaces(config.ifaces)), await bpfObject(config.bpfObject));
  checks.push(await bpfProgram(config, checks));
  checks.push(...(await hsm(config)), auditDir(config.auditDir), listen(config.listen));
  return checks;
}

function render(checks: Check[]): string {
  const mark = { ok: "✓", fail: "✗", skip: "-" };
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => [`${mark[c.status]} ${c.name.padEnd(width)}  ${c.detail}`, ...(c.fix ? [`  ${"".padEnd(width)}  fix: ${c.fix}`] : [])]);
  const count = (s: Status) => checks.filter((c) => c.status === s).length;
  lines.push("", `${count("ok")} ok, ${count("fail")} failed${count("skip") ? `, ${count("skip")} skipped` : ""}`);
  return lines.join("\n");
}

/** 5.8 brought the BPF ring buffer, CAP_BPF and CAP_PERFMON; batch map reads came in 5.6. */
function kernel(): Check {
  const r = release();
  const [major = 0, minor = 0] = r.split(/[.-]/).map(Number);
  if (major > 5 || (major === 5 && minor >= 8)) return ok("kernel", `Linux ${r}`);
  return fail("kernel", `Linux ${r} is older than 5.8 (no BPF ring buffer)`, "run on Linux 5.8 or newer");
}

function btf(): Check {
  const path = "/sys/kernel/btf/vmlinux";
  if (existsSync(path)) return ok("btf", path);
  return fail("btf", `${path} is missing: the kernel has no BTF for CO-RE`, "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (the default of current distributions)");
}

/**
 * Loading needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (or CAP_SYS_ADMIN before 5.8), attaching CAP_NET_ADMIN;
 * CAP_LINUX_IMMUTABLE lets the log be append-only (without it the log is written, the attribute is not set).
 */
function privileges(): Check {
  const caps = capState();
  const who = caps.uid === "0" ? "root (uid 0)" : `uid ${caps.uid}`;
  const held = (Object.keys(CAPS) as CapName[]).filter(caps.has);
  const immutable = caps.has("CAP_LINUX_IMMUTABLE") ? "" : "; without CAP_LINUX_IMMUTABLE the log is not made append-only";
  if (caps.missing.length === 0) return ok("privileges", `${who} with ${held.join(", ")}${immutable}`);
  const bpfLacking = caps.missing.includes("CAP_BPF") || caps.missing.includes("CAP_PERFMON");
  return fail(
    "privileges",
    `${who} lacks ${caps.missing.join(", ")}${bpfLacking ? " (or CAP_SYS_ADMIN instead of CAP_BPF + CAP_PERFMON, before Linux 5.8)" : ""}${immutable}`,
    "run as root, or grant them: systemd AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_LINUX_IMMUTABLE (deploy/systemd/ato.service); in compose: cap_add: [NET_ADMIN, BPF, PERFMON, LINUX_IMMUTABLE]",
  );
}

/** The pin directory need not exist yet; the mount that will hold it must be a bpffs. */
function bpffs(pinDir: string): Check {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")).filter((m) => m.length > 2);
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const under = (dir: string, mp: string) => mp === "/" || dir === mp || dir.startsWith(`${mp}/`);
  // The last matching line wins: later mounts cover earlier ones.
  const holder = mounts.map((m) => ({ at: unescape(m[1]!), type: m[2]! })).filter((m) => under(pinDir, m.at))
    .reduce<{ at: string; type: string } | undefined>((best, m) => (!best || m.at.length >= best.at.length ? m : best), undefined);
  if (holder?.type === "bpf") return ok("bpffs", `${pinDir} is on the bpffs mounted at ${holder.at}`);
  return fail(
    "bpffs",
    `${pinDir} is on ${holder ? `a ${holder.type} mount at ${holder.at}` : "no mount"}, not a BPF filesystem`,
    pinDir.startsWith("/sys/fs/bpf/") || pinDir === "/sys/fs/bpf"
      ? "mount -t bpf bpf /sys/fs/bpf (in a container: mount the host's /sys/fs/bpf)"
      : `mount -t bpf bpf /sys/fs/bpf and choose --pin-dir under it (now ${pinDir})`,
  );
}

async function interfaces(ifaces: string[]): Promise<Check[]> {
  if (ifaces.length === 0) return [skip("interface", "none given (--iface IF or XDP_INTERFACE); `ato run` needs one")];
  const { ifindexOf } = await import("../kernel/system.ts");
  return ifaces.map((iface) => {
    try {
      return ok("interface", `${iface} (index ${ifindexOf(iface)})`);
    } catch (e) {
      if (!isAtoError(e)) throw e;
      return fail("interface", e.message, "name an interface of this network namespace (ip -br link), with --iface or XDP_INTERFACE");
    }
  });
}

/** The object must be a BPF ELF file: magic 7f 45 4c 46, e_machine 247 (EM_BPF) at byte 18. */
async function bpfObject(flag?: string): Promise<Check> {
  let path: string;
  try {
    path = (await import("../kernel/object.ts")).bpfObjectPath(flag);
  } catch {
    return fail("bpf object", "no embedded XDP object in this build", "build it (bash scripts/build.sh) or pass --bpf-object FILE");
  }
  const fix = "pass --bpf-object FILE (or ATO_BPF_OBJECT) naming xdp_audit.o as built by scripts/build.sh";
  // readFileSync, not open(2): the embedded copy lives in the binary's own filesystem
  // (/$bunfs/…), which only Bun's file functions can read.
  let head: Uint8Array;
  try {
    head = new Uint8Array(readFileSync(path));
  } catch (e) {
    return fail("bpf object", `${path}: ${(e as NodeJS.ErrnoException).code ?? "cannot read it"}`, fix);
  }
  const elf = head.length >= 20 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  const machine = head[5] === 2 ? (head[18]! << 8) | head[19]! : head[18]! | (head[19]! << 8);
  if (!elf || machine !== 247) return fail("bpf object", `${path} is not a BPF ELF object`, fix);
  const where = path.startsWith("/$bunfs/") ? "embedded in this binary" : path;
  return ok("bpf object", `${where} (${head.length} bytes)`);
}

/**
 * Whether this kernel's verifier takes the program, and which of the two objects runs (the one for kernels before
 * 5.12 only when the kernel refuses the first): a trial load beside the pin directory, removed again.
 */
async function bpfProgram(config: AgentConfig, before: Check[]): Promise<Check> {
  const failed = ["privileges", "bpffs", "bpf object"].filter((n) => before.find((c) => c.name === n)?.status === "fail");
  if (failed.length) return skip("bpf program", `not loaded: the ${failed.join(", ")} check failed`);
  const { probeObject } = await import("../kernel/probe.ts");
  try {
    const p = probeObject(config.pinDir, config.bpfObject);
    return ok("bpf program", p.fallback ? `the kernel runs ${p.object}: ${p.fallback}` : `the kernel runs ${p.object}`);
  } catch (e) {
    if (!isAtoError(e)) throw e;
    return fail("bpf program", e.details ? `${e.message}\n${e.details}` : e.message, "run on Linux 5.10 or newer with the program as built by scripts/build.sh; the verifier's lines above say what it refused");
  }
}

async function hsm(config: AgentConfig): Promise<Check[]> {
  const { modulePath, tokenLabel, keyLabel, pin } = config.pkcs11;
  if (!existsSync(modulePath) || !statSync(modulePath).isFile()) {
    return [
      fail("pkcs11 module", `${modulePath} does not exist`, "apt-get install softhsm2, or point --module / PKCS11_MODULE_PATH at your HSM's PKCS#11 library"),
      skip("hsm key", "not checked: no PKCS#11 module"),
    ];
  }
  if (!pin) return [ok("pkcs11 module", modulePath), fail("hsm key", "no PIN to log in with", "set PKCS11_PIN or PKCS11_PIN_FILE (never a flag)")];
  try {
    const { openSigner } = await import("../signer/index.ts");
    const signer = openSigner({ modulePath, tokenLabel, pin, keyLabel });
    try {
      return [ok("pkcs11 module", modulePath), ok("hsm key", `key '${signer.keyLabel}' (${signer.algorithm}) on token '${signer.tokenLabel}' signs`)];
    } finally {
      signer.close();
    }
  } catch (e) {
    // The signer never puts the PIN in a message; scrub anyway, this line may end up in a ticket.
    const message = (e instanceof Error ? e.message : String(e)).split(pin).join("(PIN)");
    if (/^could not load PKCS#11 module|Cannot find (module|package)/.test(message)) {
      return [fail("pkcs11 module", message, "point --module / PKCS11_MODULE_PATH at a PKCS#11 library for this architecture"), skip("hsm key", "not checked: the module does not load")];
    }
    return [ok("pkcs11 module", modulePath), fail("hsm key", message, hsmFix(message))];
  }
}

function hsmFix(message: string): string {
  if (/\bPIN\b/.test(message)) return "set the token's user PIN in PKCS11_PIN or PKCS11_PIN_FILE";
  if (/\bno token\b|tokens are labelled/.test(message)) return "`ato hsm info` lists the tokens: set HSM_TOKEN_LABEL (--token-label), or create one with `ato hsm init`";
  if (/\bkey\b/.test(message)) return "`ato hsm info` lists the keys: set HSM_KEY_LABEL (--key-label), or create one with `ato hsm init`";
  return "`ato hsm info` shows what the module, token and keys look like; `ato hsm init` creates a token and key";
}

/** Creates, writes, syncs and removes a probe file: what the evidence log will do. */
function auditDir(dir: string): Check {
  const fix = (why: string) => `${why}, or choose another with --audit-dir (ATO_AUDIT_DIR)`;
  let st;
  try {
    st = statSync(dir);
  } catch {
    return fail("audit directory", `${dir} does not exist`, fix(`mkdir -p -m 0750 ${dir}`));
  }
  if (!st.isDirectory()) return fail("audit directory", `${dir} is not a directory`, fix(`remove the file at ${dir} or mkdir a directory elsewhere`));
  const probe = join(dir, `.ato-doctor-${process.pid}`);
  try {
    const fd = openSync(probe, "wx", 0o600);
    try {
      writeSync(fd, "ato doctor probe\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      unlinkSync(probe);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    const why = { EACCES: `give the agent's user write access to ${dir}`, EPERM: `give the agent's user write access to ${dir}`, EROFS: "mount it read-write", ENOSPC: "free some space" }[code] ?? `make ${dir} writable`;
    return fail("audit directory", `cannot write in ${dir} (${code})`, fix(why));
  }
  const free = statfsSync(dir);
  const mib = Math.floor((Number(free.bavail) * Number(free.bsize)) / 2 ** 20);
  if (mib < 64) return fail("audit directory", `${dir} is writable but has only ${mib} MiB free`, fix("free some space"));
  return ok("audit directory", `${resolve(dir)} is writable (${mib >= 10240 ? `${Math.floor(mib / 1024)} GiB` : `${mib} MiB`} free)`);
}

function listen(text: string): Check {
  const addr = parseListen(text);
  try {
    Bun.listen({ hostname: addr.hostname, port: addr.port, socket: { data() {} } }).stop(true);
    return ok("listen", `${addr.text} is free`);
  } catch (e) {
    const err = bindError(e, addr);
    const fix = err.code === "BUSY" ? `stop what holds it (ss -ltnp 'sport = :${addr.port}' names it), or choose another with --listen ADDR:PORT (ATO_LISTEN)` : "choose another address with --listen ADDR:PORT (ATO_LISTEN)";
    return fail("listen", err.message.replace(/ \(stop what holds it.*\)$/, ""), fix);
  }
}
