/**
 * The one binding for libbpf (the copy embedded in the binary, or ATO_LIB_DIR's).
 *
 * Layouts of the opts structs are those of libbpf 1.1's headers on x86_64 (checked by
 * test/ffi/libbpf.test.ts through the kernel's answers, and every opts struct carries its
 * own size, so libbpf rejects a mismatch instead of misreading it). libbpf 1.x returns
 * -errno from int functions and NULL (with errno) from pointer functions; libbpf_get_error
 * turns the latter into -errno as well.
 *
 * libbpf's own messages (warnings and information; debug output is dropped) are caught by a
 * print callback instead of going to stderr, kept until the next operation that succeeds, and
 * put into the `details` of the AtoError of the operation that failed: libbpf's words for
 * what went wrong, not a guess from errno.
 */
import { readFileSync } from "node:fs";
import { CString, FFIType, JSCallback, toArrayBuffer, type Pointer } from "bun:ffi";
import { AtoError } from "../src/errors.ts";
import { cstr, fromCString, Struct } from "./_marshal.ts";
import { closeFd, formatVaList } from "./libc.ts";
import { locateLibrary, openLibrary } from "./native.ts";
import embeddedLibbpf from "../dist/lib/libbpf.so.1" with { type: "file" };

const { i32, u32, ptr, usize, u64, void: none } = FFIType;

const lib = openLibrary(locateLibrary("libbpf.so.1", embeddedLibbpf), {
  libbpf_set_print: { args: [ptr], returns: ptr },
  libbpf_get_error: { args: [ptr], returns: FFIType.i64 },
  libbpf_strerror: { args: [i32, ptr, usize], returns: i32 },
  libbpf_num_possible_cpus: { args: [], returns: i32 },
  libbpf_major_version: { args: [], returns: u32 },
  libbpf_minor_version: { args: [], returns: u32 },
  bpf_object__open_mem: { args: [ptr, usize, ptr], returns: ptr },
  bpf_object__load: { args: [ptr], returns: i32 },
  bpf_object__close: { args: [ptr], returns: none },
  bpf_object__find_program_by_name: { args: [ptr, ptr], returns: ptr },
  bpf_object__find_map_by_name: { args: [ptr, ptr], returns: ptr },
  bpf_program__fd: { args: [ptr], returns: i32 },
  bpf_map__fd: { args: [ptr], returns: i32 },
  bpf_map__set_max_entries: { args: [ptr, u32], returns: i32 },
  bpf_map__set_map_flags: { args: [ptr, u32], returns: i32 },
  bpf_map__reuse_fd: { args: [ptr, i32], returns: i32 },
  bpf_map__map_flags: { args: [ptr], returns: u32 },
  bpf_object__next_program: { args: [ptr, ptr], returns: ptr },
  bpf_program__name: { args: [ptr], returns: ptr },
  bpf_program__set_autoload: { args: [ptr, FFIType.bool], returns: i32 },
  bpf_program__set_type: { args: [ptr, u32], returns: i32 },
  bpf_obj_get: { args: [ptr], returns: i32 },
  bpf_obj_pin: { args: [i32, ptr], returns: i32 },
  bpf_map_lookup_elem: { args: [i32, ptr, ptr], returns: i32 },
  bpf_map_update_elem: { args: [i32, ptr, ptr, u64], returns: i32 },
  bpf_map_delete_elem: { args: [i32, ptr], returns: i32 },
  bpf_map_lookup_and_delete_elem: { args: [i32, ptr, ptr], returns: i32 },
  bpf_map_get_next_key: { args: [i32, ptr, ptr], returns: i32 },
  bpf_map_lookup_batch: { args: [i32, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  bpf_obj_get_info_by_fd: { args: [i32, ptr, ptr], returns: i32 },
  bpf_prog_get_fd_by_id: { args: [u32], returns: i32 },
  bpf_prog_test_run_opts: { args: [i32, ptr], returns: i32 },
  bpf_xdp_attach: { args: [i32, i32, u32, ptr], returns: i32 },
  bpf_xdp_detach: { args: [i32, u32, ptr], returns: i32 },
  bpf_xdp_query_id: { args: [i32, i32, ptr], returns: i32 },
  ring_buffer__new: { args: [i32, FFIType.function, ptr, ptr], returns: ptr },
  ring_buffer__consume: { args: [ptr], returns: i32 },
  ring_buffer__free: { args: [ptr], returns: none },
});

/** enum libbpf_print_level: WARN 0, INFO 1, DEBUG 2. */
const LIBBPF_INFO = 1;
/** The most recent lines kept: what explains a failure is printed just before it. */
const KEPT_LINES = 24;
const printed: string[] = [];

const printer = new JSCallback(
  (level: number, fmt: Pointer, ap: Pointer) => {
    if (level > LIBBPF_INFO) return 0;
    for (const line of formatVaList(fmt, ap).split("\n")) {
      if (line.trim()) printed.push(line.startsWith("libbpf:") ? line.trimEnd() : `libbpf: ${line.trimEnd()}`);
    }
    if (printed.length > KEPT_LINES) printed.splice(0, printed.length - KEPT_LINES);
    return 0;
  },
  { args: [i32, ptr, ptr], returns: i32 },
);
lib.symbols.libbpf_set_print(printer.ptr);

/** What libbpf printed since the last operation that succeeded (for an error's details), then forgotten. */
function takePrinted(): string | undefined {
  const lines = printed.splice(0);
  return lines.length ? lines.join("\n") : undefined;
}

export const XDP_FLAGS = { UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8, REPLACE: 16 } as const;

export function errnoName(err: number): string {
  if (err === 524) return "Operation not supported (ENOTSUPP)"; // kernel-internal, unknown to libc's strerror
  const buf = new Uint8Array(256);
  lib.symbols.libbpf_strerror(err, buf, buf.length);
  return fromCString(buf);
}

/**
 * Throws a BPF AtoError for a negative libbpf return, naming what was attempted, with its errno
 * and libbpf's own messages in the details; a success forgets what libbpf printed before it.
 */
function check(ret: number, what: string, code: "BPF" | "NOT_FOUND" | "PERMISSION" = "BPF"): number {
  if (ret >= 0) {
    printed.length = 0;
    return ret;
  }
  throw failure(-ret, what, code);
}

/** The AtoError for a libbpf call that failed with `err` (an errno), carrying `errno` for callers that decide by it. */
function failure(err: number, what: string, code: "BPF" | "NOT_FOUND" | "PERMISSION" = "BPF"): AtoError & { errno: number } {
  const reason = errnoName(err);
  const details = takePrinted();
  if (err === 1 /* EPERM */) {
    return Object.assign(new AtoError(`${what}: ${reason} (needs root or CAP_BPF with CAP_NET_ADMIN and CAP_PERFMON)`, "PERMISSION", { details }), { errno: err });
  }
  return Object.assign(new AtoError(`${what}: ${reason}`, err === 2 ? "NOT_FOUND" : code, { details }), { errno: err });
}

function errnoOf(p: Pointer | null): number {
  return -Number(lib.symbols.libbpf_get_error(p));
}

export function possibleCpus(): number {
  return check(lib.symbols.libbpf_num_possible_cpus(), "reading the possible CPUs");
}

export function libbpfVersion(): string {
  return `${lib.symbols.libbpf_major_version()}.${lib.symbols.libbpf_minor_version()}`;
}

// ---- objects ----------------------------------------------------------------------------

/** bpf_object_open_opts (libbpf 1.1): sz@0, object_name@8, pin_root_path@24, kernel_log_buf@56, kernel_log_size@64, kernel_log_level@72; 80 bytes. */
const OPEN_OPTS = { size: 80, objectName: 8, pinRootPath: 24, logBuf: 56, logSize: 64, logLevel: 72 } as const;

export interface OpenOptions {
  /** Directory under bpffs where maps with LIBBPF_PIN_BY_NAME are pinned (and reused). */
  pinRoot?: string;
  /** Capacity overrides, by map name, applied before load. */
  maxEntries?: Record<string, number>;
  /** Map flags (BPF_F_*), by map name, replacing the object's before load. */
  mapFlags?: Record<string, number>;
  /** Load only these programs (by function name); the object's others are not loaded. */
  only?: string[];
  /** Program types (BPF_PROG_TYPE_*), by program name, for sections libbpf 1.x cannot type ("classifier/..."). */
  programTypes?: Record<string, number>;
  /** Verifier log level on load (1 = on failure only; 4 = statistics). */
  logLevel?: number;
  /** Maps taken from fds already open (bpf_map__reuse_fd, by map name) instead of created: another object's maps. */
  reuseMaps?: Record<string, number>;
  /** The object's name in the kernel's listings (its programs keep their function names); "xdp_audit" unless given. */
  objectName?: string;
}

/** An opened and loaded BPF object file. Owns the libbpf handle and frees it exactly once. */
export class BpfObject {
  private handle: Pointer | null;

  /** libbpf parses the ELF in place and writes the log buffer until close: the object keeps them alive. */
  private constructor(
    handle: Pointer,
    private readonly path: string,
    private readonly mem: { elf: Uint8Array; log: Uint8Array; opts: Struct },
  ) {
    this.handle = handle;
  }

  /**
   * Opens an object file from its bytes: the path may be a file on disk or the copy embedded
   * in the compiled binary (under /$bunfs/, which only Bun can read).
   */
  static open(path: string, opts: OpenOptions = {}): BpfObject {
    let elf: Uint8Array;
    try {
      elf = new Uint8Array(readFileSync(path));
    } catch {
      throw new AtoError(`BPF object ${path} not found (build it with bash scripts/build.sh, or pass --bpf-object)`, "NOT_FOUND");
    }
    // The log buffer is handed over at open so that libbpf fills it when a load fails.
    const log = new Uint8Array(1 << 20);
    const o = new Struct(OPEN_OPTS.size).pointer(OPEN_OPTS.objectName, cstr(opts.objectName ?? "xdp_audit"));
    if (opts.pinRoot) o.pointer(OPEN_OPTS.pinRootPath, cstr(opts.pinRoot));
    o.pointer(OPEN_OPTS.logBuf, log).u64(OPEN_OPTS.logSize, log.length).u32(OPEN_OPTS.logLevel, opts.logLevel ?? 0);
    const h = lib.symbols.bpf_object__open_mem(elf, elf.length, o.address);
    if (!h) throw failure(errnoOf(h), `cannot open BPF object ${path}`);
    const obj = new BpfObject(h, path, { elf, log, opts: o });
    for (const [name, n] of Object.entries(opts.maxEntries ?? {})) {
      check(lib.symbols.bpf_map__set_max_entries(obj.map(name), n), `setting ${name} capacity to ${n}`);
    }
    for (const [name, flags] of Object.entries(opts.mapFlags ?? {})) {
      check(lib.symbols.bpf_map__set_map_flags(obj.map(name), flags), `setting ${name} flags to ${flags}`);
    }
    for (const [name, fd] of Object.entries(opts.reuseMaps ?? {})) {
      check(lib.symbols.bpf_map__reuse_fd(obj.map(name), fd), `reusing map fd ${fd} for ${name}`);
    }
    if (opts.only) obj.loadOnly(opts.only);
    for (const [name, type] of Object.entries(opts.programTypes ?? {})) {
      check(lib.symbols.bpf_program__set_type(obj.program(name), type), `setting program ${name}'s type to ${type}`);
    }
    return obj;
  }

  /** Loads into the kernel; a verifier rejection carries the verifier's last lines. */
  load(): void {
    const ret = lib.symbols.bpf_object__load(this.ptr());
    if (ret >= 0) return;
    // The verifier gives up with EAGAIN when a signal arrives mid-verification (a profiler's
    // SIGPROF, a child's SIGCHLD): not a rejection; the caller may load a fresh copy again.
    if (-ret === 11) throw new AtoError(`loading ${this.path} was interrupted by a signal (EAGAIN)`, "BUSY");
    const log = fromCString(this.mem.log).trimEnd();
    if (-ret === 1) check(ret, `loading ${this.path}`);
    if (log) {
      const tail = log.split("\n").slice(-12).join("\n");
      const said = takePrinted();
      throw new AtoError(`the kernel's BPF verifier rejected ${this.path}: ${errnoName(-ret)}`, "VERIFIER", { details: said ? `${tail}\n${said}` : tail });
    }
    check(ret, `loading ${this.path}`);
  }

  /** The verifier's log of the last load (statistics when opened with logLevel 4). */
  verifierLog(): string {
    return fromCString(this.mem.log);
  }

  programFd(name: string): number {
    return check(lib.symbols.bpf_program__fd(this.program(name)), `program ${name} is not loaded`);
  }

  private program(name: string): Pointer {
    const p = lib.symbols.bpf_object__find_program_by_name(this.ptr(), cstr(name));
    if (!p) throw new AtoError(`program ${name} not found in ${this.path}`, "NOT_FOUND");
    return p;
  }

  mapFd(name: string): number {
    return check(lib.symbols.bpf_map__fd(this.map(name)), `map ${name} is not loaded`);
  }

  /** The map's flags (BPF_F_*) as they are or will be created. */
  mapFlags(name: string): number {
    return lib.symbols.bpf_map__map_flags(this.map(name));
  }

  /** Turns off loading of every program not named; each name must exist. */
  private loadOnly(names: string[]): void {
    const found = new Set<string>();
    for (let p = lib.symbols.bpf_object__next_program(this.ptr(), null); p; p = lib.symbols.bpf_object__next_program(this.ptr(), p)) {
      const name = new CString(lib.symbols.bpf_program__name(p)!).toString();
      const keep = names.includes(name);
      if (keep) found.add(name);
      check(lib.symbols.bpf_program__set_autoload(p, keep), `choosing whether to load program ${name}`);
    }
    const missing = names.filter((n) => !found.has(n));
    if (missing.length) throw new AtoError(`program ${missing.join(", ")} not found in ${this.path}`, "NOT_FOUND");
  }

  close(): void {
    if (this.handle) lib.symbols.bpf_object__close(this.handle);
    this.handle = null;
  }

  private map(name: string): Pointer {
    const m = lib.symbols.bpf_object__find_map_by_name(this.ptr(), cstr(name));
    if (!m) throw new AtoError(`map ${name} not found in ${this.path}`, "NOT_FOUND");
    return m;
  }

  private ptr(): Pointer {
    if (!this.handle) throw new AtoError(`BPF object ${this.path} used after close`, "INTERNAL");
    return this.handle;
  }
}

// ---- maps ---------------------------------------------------------------------------------

/** Opens a pinned object (map or program) by its bpffs path; the caller closes the fd. */
export function objGet(path: string): number {
  return check(lib.symbols.bpf_obj_get(cstr(path)), `opening pinned ${path}`);
}

/** Pins the object behind `fd` at a bpffs path (which must not exist yet); throws the errno as an AtoError. */
export function objPin(fd: number, path: string): void {
  check(lib.symbols.bpf_obj_pin(fd, cstr(path)), `pinning at ${path}`);
}

export { closeFd };

export function mapLookup(fd: number, key: Uint8Array, value: Uint8Array): boolean {
  const r = lib.symbols.bpf_map_lookup_elem(fd, key, value);
  if (r === -2) return false;
  check(r, "map lookup");
  return true;
}

export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  check(lib.symbols.bpf_map_update_elem(fd, key, value, flags), "map update");
}

/** Deletes a key; false when it was not there. */
export function mapDelete(fd: number, key: Uint8Array): boolean {
  const r = lib.symbols.bpf_map_delete_elem(fd, key);
  if (r === -2) return false;
  check(r, "map delete");
  return true;
}

/**
 * Reads a key's value and deletes it in one step (per-CPU hash maps since Linux 5.14), so no
 * packet counted between a read and a delete is lost; false when the key was not there.
 */
export function mapLookupAndDelete(fd: number, key: Uint8Array, value: Uint8Array): boolean {
  const r = lib.symbols.bpf_map_lookup_and_delete_elem(fd, key, value);
  if (r === -2) return false;
  check(r, "map lookup-and-delete");
  return true;
}

/** Writes the key following `key` (or the first key when key is null) into next; false at the end. */
export function mapNextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
  const r = lib.symbols.bpf_map_get_next_key(fd, key, next);
  if (r === -2) return false;
  check(r, "map key iteration");
  return true;
}

/** bpf_map_batch_opts: sz@0, elem_flags@8, flags@16; 24 bytes. */
const BATCH_OPTS_SIZE = 24;

/**
 * What the kernel answers when a map type has no batch operations: ENOTSUPP (524) from
 * BPF_DO_BATCH in kernel/bpf/syscall.c since batch lookups came (5.6), or EOPNOTSUPP (95),
 * which a proposed change would make it. EINVAL is not among them: on the kernels ato runs on
 * (5.8 and newer) the command exists, so EINVAL means a bad call or an fd that is no map.
 */
const BATCH_UNSUPPORTED = new Set([524, 95]);

export type BatchResult = { n: number; done: boolean; tooSmall: boolean; unsupported: boolean };

/**
 * One BPF_MAP_LOOKUP_BATCH call. `token` carries the kernel's position between calls (8 bytes
 * suffice for hash maps). Returns the number of entries written and whether the map is done.
 * ENOSPC means one bucket holds more entries than `count`: the caller retries with more room.
 * `unsupported`: this map type has no batch lookups (nothing was read). Any other failure is
 * an AtoError with libbpf's messages.
 */
export function mapLookupBatch(
  fd: number, token: Uint8Array, first: boolean, keys: Uint8Array, values: Uint8Array, count: number,
): BatchResult {
  const n = new Uint32Array([count]);
  const opts = new Struct(BATCH_OPTS_SIZE);
  const r = lib.symbols.bpf_map_lookup_batch(fd, first ? null : token, token, keys, values, n, opts.address);
  if (r === -2) return { n: n[0]!, done: true, tooSmall: false, unsupported: false };
  if (r === -28) return { n: 0, done: false, tooSmall: true, unsupported: false };
  if (r < 0 && BATCH_UNSUPPORTED.has(-r)) return { n: 0, done: false, tooSmall: false, unsupported: true };
  check(r, "batch map lookup");
  return { n: n[0]!, done: false, tooSmall: false, unsupported: false };
}

// ---- object info ----------------------------------------------------------------------------

/** bpf_prog_info offsets (UAPI): type@0, id@4, tag@8[8], jited_prog_len@16, xlated_prog_len@20, name@64[16], verified_insns@216. */
export interface ProgInfo { id: number; type: number; name: string; tag: string; xlatedBytes: number; jitedBytes: number; verifiedInsns: number }

export function progInfo(fd: number): ProgInfo {
  const info = new Uint8Array(232);
  const len = new Uint32Array([info.length]);
  check(lib.symbols.bpf_obj_get_info_by_fd(fd, info, len), "reading program info");
  const v = new DataView(info.buffer);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    tag: Buffer.from(info.subarray(8, 16)).toString("hex"),
    jitedBytes: v.getUint32(16, true),
    xlatedBytes: v.getUint32(20, true),
    name: fromCString(info.subarray(64, 80)),
    verifiedInsns: v.getUint32(216, true),
  };
}

/** bpf_map_info offsets (UAPI): type@0, id@4, key_size@8, value_size@12, max_entries@16, map_flags@20, name@24[16]. */
export interface MapInfo { type: number; id: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: string }

export function mapInfo(fd: number): MapInfo {
  const info = new Uint8Array(88);
  const len = new Uint32Array([info.length]);
  check(lib.symbols.bpf_obj_get_info_by_fd(fd, info, len), "reading map info");
  const v = new DataView(info.buffer);
  return {
    type: v.getUint32(0, true), id: v.getUint32(4, true), keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true), maxEntries: v.getUint32(16, true), flags: v.getUint32(20, true),
    name: fromCString(info.subarray(24, 40)),
  };
}

export function progFdById(id: number): number {
  return check(lib.symbols.bpf_prog_get_fd_by_id(id), `opening program id ${id}`);
}

// ---- test runs --------------------------------------------------------------------------------

/** bpf_test_run_opts (libbpf 1.1): data_in@8, data_out@16, data_size_in@24, data_size_out@28, ctx_in@32, ctx_size_in@48, retval@56, repeat@60, duration@64; 80 bytes. */
export interface TestRunResult { retval: number; durationNs: number }

/** Runs a program once per repetition on a frame through BPF_PROG_TEST_RUN. ctx is an xdp_md. */
export function testRun(progFd: number, frame: Uint8Array, repeat = 1, ctx?: Uint8Array): TestRunResult {
  const o = new Struct(80).pointer(8, frame).u32(24, frame.length).i32(60, repeat);
  if (ctx) o.pointer(32, ctx).u32(48, ctx.length);
  check(lib.symbols.bpf_prog_test_run_opts(progFd, o.address), "BPF_PROG_TEST_RUN");
  return { retval: o.readU32(56), durationNs: o.readU32(64) };
}

/**
 * Runs a BPF_PROG_TYPE_SYSCALL program once with `ctx` as its context: the kernel copies ctx in and
 * back out (the program's results), and such a run takes no data, repeat or duration. Returns retval.
 */
export function testRunSyscall(progFd: number, ctx: Uint8Array): number {
  const o = new Struct(80).pointer(32, ctx).u32(48, ctx.length);
  check(lib.symbols.bpf_prog_test_run_opts(progFd, o.address), "BPF_PROG_TEST_RUN (syscall program)");
  return o.readU32(56);
}

// ---- XDP attachment -----------------------------------------------------------------------------

/** bpf_xdp_attach_opts: sz@0, old_prog_fd@8; 16 bytes. Passed as bytes: alive for the call. */
function attachOpts(oldFd?: number): Uint8Array | null {
  return oldFd === undefined ? null : new Struct(16).i32(8, oldFd).bytes;
}

/** Attaches; with replaceFd, only if that program is the one attached (XDP_FLAGS_REPLACE). */
export function xdpAttach(ifindex: number, progFd: number, flags: number, replaceFd?: number): number {
  const f = replaceFd === undefined ? flags : flags | XDP_FLAGS.REPLACE;
  return lib.symbols.bpf_xdp_attach(ifindex, progFd, f, attachOpts(replaceFd));
}

/** Detaches; with expectedFd, only if that program is the one attached. */
export function xdpDetach(ifindex: number, flags: number, expectedFd?: number): number {
  const f = expectedFd === undefined ? flags : flags | XDP_FLAGS.REPLACE;
  return lib.symbols.bpf_xdp_detach(ifindex, f, attachOpts(expectedFd));
}

/** The id of the XDP program attached in a mode (flags = one *_MODE flag, or 0 for any); 0 if none. */
export function xdpQueryId(ifindex: number, flags: number): number {
  const id = new Uint32Array(1);
  check(lib.symbols.bpf_xdp_query_id(ifindex, flags, id), `querying XDP programs on ifindex ${ifindex}`);
  return id[0]!;
}

// ---- ring buffer ------------------------------------------------------------------------------

/** A libbpf ring_buffer consumer. Samples are copied out before the callback returns. */
export class RingBuffer {
  private rb: Pointer | null;
  private readonly cb: JSCallback;

  constructor(mapFd: number, onSample: (data: Uint8Array) => void) {
    this.cb = new JSCallback(
      (_ctx: Pointer, data: Pointer, size: number) => {
        onSample(new Uint8Array(toArrayBuffer(data, 0, Number(size))).slice());
        return 0;
      },
      { args: [ptr, ptr, usize], returns: i32 },
    );
    const rb = lib.symbols.ring_buffer__new(mapFd, this.cb.ptr, null, null);
    if (!rb) {
      this.cb.close();
      throw failure(errnoOf(rb), "cannot open the event ring buffer");
    }
    this.rb = rb;
  }

  /** Delivers every pending sample; returns how many. Never blocks. */
  consume(): number {
    if (!this.rb) return 0;
    return check(lib.symbols.ring_buffer__consume(this.rb), "reading the event ring buffer");
  }

  close(): void {
    if (this.rb) lib.symbols.ring_buffer__free(this.rb);
    this.rb = null;
    this.cb.close();
  }
}
