/**
 * The binding for the few libc calls ato needs that Bun does not expose: closing a file
 * descriptor that libbpf handed out, an advisory lock that dies with its process, interface
 * name lookups in the process's own network namespace, the clocks, formatting a C message
 * with its va_list (libbpf's print callback), and one rtnetlink socket kept open for the
 * self-check's look at an interface's XDP programs, and execve (`ato run` re-executes itself once, src/cli/gc-timer.ts).
 */
import { dlopen, FFIType, ptr, read, type Pointer } from "bun:ffi";
import { cstr, fromCString } from "./_marshal.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

const lib = dlopen("libc.so.6", {
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  if_nametoindex: { args: [FFIType.ptr], returns: FFIType.u32 },
  if_indextoname: { args: [FFIType.u32, FFIType.ptr], returns: FFIType.ptr },
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  vsnprintf: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
});

const errno = () => read.i32(lib.symbols.__errno_location()!, 0);

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

/**
 * CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns(). (Bun's process.hrtime is
 * not guaranteed to be this clock; on a VM that was paused they drift apart by the pause.)
 */
export function monotonicNs(): bigint {
  const ts = new BigInt64Array(2);
  lib.symbols.clock_gettime(CLOCK_MONOTONIC, ts);
  return ts[0]! * 1_000_000_000n + ts[1]!;
}

/** CLOCK_REALTIME (wall time) in nanoseconds since the epoch; Date.now() has only milliseconds. */
export function realtimeNs(): bigint {
  const ts = new BigInt64Array(2);
  lib.symbols.clock_gettime(CLOCK_REALTIME, ts);
  return ts[0]! * 1_000_000_000n + ts[1]!;
}

const IF_NAMESIZE = 16;

/**
 * Interface name to index in the calling process's network namespace (sysfs may show another
 * namespace's view, e.g. under nsenter --net); 0 when there is no such interface.
 */
export function ifNameToIndex(name: string): number {
  return lib.symbols.if_nametoindex(cstr(name));
}

export function ifIndexToName(index: number): string | null {
  const buf = new Uint8Array(IF_NAMESIZE);
  return lib.symbols.if_indextoname(index, buf) ? fromCString(buf) : null;
}

/** printf-formats `fmt` with the va_list `ap` a C callback was given (at most `max` bytes of it). */
export function formatVaList(fmt: Pointer, ap: Pointer, max = 1024): string {
  const buf = new Uint8Array(max);
  if (lib.symbols.vsnprintf(buf, max, fmt, ap) < 0) return "";
  return fromCString(buf);
}

export function closeFd(fd: number): void {
  if (fd >= 0) lib.symbols.close(fd);
}

/** Takes an exclusive, non-blocking lock on an open file; false when another process holds it. */
export function tryLockExclusive(fd: number): boolean {
  return lib.symbols.flock(fd, LOCK_EX | LOCK_NB) === 0;
}

const AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0o2000000, NETLINK_ROUTE = 0;
const MSG_DONTWAIT = 0x40, MSG_TRUNC = 0x20;

/**
 * A NETLINK_ROUTE socket connected to `peer` (0, the default: the kernel): its fd, or -errno. Connected to
 * the kernel, it takes messages from the kernel only: another process of the namespace that sends to its
 * port id (listed in /proc/net/netlink) is refused with ECONNREFUSED, so no forged answer can wait in its
 * queue. (Another peer is for the test that tries exactly that.)
 */
export function netlinkRouteSocket(peer = 0): number {
  const fd = lib.symbols.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno();
  // struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; }
  const addr = new Uint8Array(12);
  new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
  new DataView(addr.buffer).setUint32(4, peer, true);
  if (lib.symbols.connect(fd, addr, addr.length) !== 0) {
    const e = errno();
    lib.symbols.close(fd);
    return -e;
  }
  return fd;
}

/** Sends one netlink request (to the kernel: no address needed on a netlink socket); its length, or -errno. */
export function netlinkSend(fd: number, request: Uint8Array): number {
  const n = Number(lib.symbols.send(fd, request, request.length, 0));
  return n >= 0 ? n : -errno();
}

/**
 * Takes the next message queued on the socket without waiting: the whole message's length (more than
 * `into.length` when it did not fit, MSG_TRUNC), or -errno (-EAGAIN: nothing queued).
 */
export function netlinkReceive(fd: number, into: Uint8Array): number {
  const n = Number(lib.symbols.recv(fd, into, into.length, MSG_DONTWAIT | MSG_TRUNC));
  return n >= 0 ? n : -errno();
}

/** A NULL-terminated `char *const[]` over NUL-terminated copies of `items`, and the copies (keep them referenced). */
function pointerTable(items: Uint8Array[]): { table: BigUint64Array; keep: Buffer[] } {
  const keep = items.map((b) => Buffer.concat([b, Buffer.alloc(1)]));
  const table = new BigUint64Array(keep.length + 1);
  keep.forEach((s, i) => { table[i] = BigInt(ptr(s)); });
  return { table, keep };
}

/**
 * Replaces this process's image with the program at `path`, given `argv` and the environment `env`
 * (each item the bytes of one string without its NUL, "NAME=value" for the environment, so that
 * bytes that are not UTF-8 pass unchanged): same pid, same open file descriptors (those without
 * FD_CLOEXEC). Returns only when the kernel refused, with -errno.
 */
export function execve(path: string, argv: Uint8Array[], env: Uint8Array[]): number {
  const a = pointerTable(argv);
  const e = pointerTable(env);
  lib.symbols.execve(cstr(path), a.table, e.table);
  return -errno();
}

const MADV_HUGEPAGE = 14;
const HUGE_PAGE = 2 * 1024 * 1024;

/**
 * Asks the kernel to back the whole 2 MiB pages inside `view` with transparent huge pages (madvise
 * MADV_HUGEPAGE: in THP's "madvise" mode, Debian's default, only memory advised so gets them), for a
 * table read at random slots (one TLB entry per 2 MiB instead of per 4 KiB). Pages not touched yet are
 * then faulted in whole; an advice changes speed only, never what the memory holds. Returns the bytes
 * advised (0: no whole 2 MiB page inside), or -errno (-EINVAL: a kernel without THP).
 */
export function adviseHugePages(view: ArrayBufferView): number {
  if (view.byteLength < HUGE_PAGE) return 0;
  const at = Number(ptr(view)), start = Math.ceil(at / HUGE_PAGE) * HUGE_PAGE, end = Math.floor((at + view.byteLength) / HUGE_PAGE) * HUGE_PAGE;
  if (end <= start) return 0;
  return lib.symbols.madvise(start, end - start, MADV_HUGEPAGE) === 0 ? end - start : -errno();
}
