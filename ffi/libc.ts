/**
 * The binding for the few libc calls ato needs that Bun does not expose: closing a file
 * descriptor that libbpf handed out, an advisory lock that dies with its process, and interface
 * name lookups in the process's own network namespace.
 */
import { dlopen, FFIType } from "bun:ffi";
import { cstr, fromCString } from "./_marshal.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

const lib = dlopen("libc.so.6", {
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  if_nametoindex: { args: [FFIType.ptr], returns: FFIType.u32 },
  if_indextoname: { args: [FFIType.u32, FFIType.ptr], returns: FFIType.ptr },
});

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

export function closeFd(fd: number): void {
  if (fd >= 0) lib.symbols.close(fd);
}

/** Takes an exclusive, non-blocking lock on an open file; false when another process holds it. */
export function tryLockExclusive(fd: number): boolean {
  return lib.symbols.flock(fd, LOCK_EX | LOCK_NB) === 0;
}
