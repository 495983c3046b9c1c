/**
 * Finding and opening ato's shared objects, for every binding in ffi/.
 *
 * A library is looked for in this order:
 *  1. `$ATO_LIB_DIR/<name>` when ATO_LIB_DIR is set (an operator's explicit choice: missing there is an error);
 *  2. the copy embedded in the binary. Each binding imports its own file with
 *     `import lib from "../dist/lib/<name>" with { type: "file" }`: from source that is the file in dist/lib;
 *     in a compiled binary it is a path under /$bunfs/, which dlopen cannot read, so the bytes are copied to a
 *     private directory (0700, named by their SHA-256) under the temp dir and that copy is opened;
 *  3. otherwise an AtoError("FFI") naming what was looked for and how to build it.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen, type FFIFunction, type Library } from "bun:ffi";
import { AtoError } from "../src/errors.ts";

const LIB_DIR_ENV = "ATO_LIB_DIR";
const BUILD_HINT = "build it with `bash scripts/build.sh`";

/** The path dlopen should open for `name`; see the module comment for the search order. */
export function locateLibrary(name: string, embeddedPath: string, env: Record<string, string | undefined> = process.env): string {
  const dir = env[LIB_DIR_ENV];
  if (dir) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new AtoError(`${LIB_DIR_ENV}=${dir} does not contain ${name}; ${BUILD_HINT}`, "FFI");
    return path;
  }
  if (isEmbedded(embeddedPath)) return extractEmbedded(name, embeddedPath);
  if (existsSync(embeddedPath)) return embeddedPath;
  throw new AtoError(
    `${name} not found: ${LIB_DIR_ENV} is unset and the bundled copy ${embeddedPath} does not exist; ${BUILD_HINT}`,
    "FFI",
  );
}

/** dlopen with failures as AtoError("FFI"): a missing symbol or a wrong architecture names the file. */
export function openLibrary<Fns extends Record<string, FFIFunction>>(path: string, symbols: Fns): Library<Fns> {
  try {
    return dlopen(path, symbols);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new AtoError(`could not load ${path}: ${why}; ${BUILD_HINT}`, "FFI", { cause });
  }
}

/**
 * A library of optional routines (the SHA-NI hasher, the collector's scan): found, opened and its ABI version
 * checked, or the reason it cannot be used here, for the caller to fall back to its TypeScript path. Only a
 * missing or unloadable file becomes a reason; any other error is a bug and passes through.
 */
export function openOptional<Fns extends Record<string, FFIFunction>>(
  name: string, embeddedPath: string, symbols: Fns, abi: { symbol: keyof Fns; expected: number },
  env: Record<string, string | undefined> = process.env,
): { handle: Library<Fns>; file: string } | string {
  let handle: Library<Fns>;
  let file: string;
  try {
    file = locateLibrary(name, embeddedPath, env);
    handle = openLibrary(file, symbols);
  } catch (e) {
    if (e instanceof AtoError && e.code === "FFI") return e.message;
    throw e;
  }
  const version = (handle.symbols[abi.symbol] as unknown as () => number)();
  if (version !== abi.expected) {
    handle.close();
    return `${file} has ABI version ${version}, expected ${abi.expected}`;
  }
  return { handle, file };
}

function isEmbedded(path: string): boolean {
  return path.includes("$bunfs");
}

/**
 * Copies an embedded library to `<tmp>/ato-lib-<uid>-<sha256 prefix>/<name>` and returns that path. An existing
 * copy is reused only when the directory is ours, a real directory, private, and the file has the same bytes;
 * a directory someone else prepared is never trusted (the agent runs as root).
 */
function extractEmbedded(name: string, embeddedPath: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(embeddedPath);
  } catch (cause) {
    throw new AtoError(`could not read the embedded ${name} at ${embeddedPath}; ${BUILD_HINT}`, "FFI", { cause });
  }
  const digest = sha256(bytes);
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `ato-lib-${uid}-${digest.slice(0, 16)}`);
  const path = join(dir, name);
  try {
    if (makeDir(dir)) chmodSync(dir, 0o700); // whatever the umask
    assertPrivateDir(dir, uid);
    if (existsSync(path) && lstatSync(path).isFile() && sha256(readFileSync(path)) === digest) return path;
    const partial = `${path}.${process.pid}.tmp`;
    writeFileSync(partial, bytes, { mode: 0o500 });
    chmodSync(partial, 0o500);
    renameSync(partial, path);
    return path;
  } catch (cause) {
    if (cause instanceof AtoError) throw cause;
    throw new AtoError(`could not copy the embedded ${name} to ${dir} for loading`, "FFI", { cause });
  }
}

/** mkdir that tolerates a directory made meanwhile (another ato starting); true when this call made it. */
function makeDir(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

function assertPrivateDir(dir: string, uid: number): void {
  const st = lstatSync(dir);
  const mode = st.mode & 0o777;
  if (!st.isDirectory() || st.uid !== uid || (mode & 0o077) !== 0) {
    throw new AtoError(
      `${dir} must be a directory owned by uid ${uid} with mode 0700, found ` +
        `${st.isDirectory() ? "a directory" : "not a directory"} owned by uid ${st.uid} with mode ${mode.toString(8)}; ` +
        `remove it, or set TMPDIR or ${LIB_DIR_ENV}`,
      "FFI",
    );
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
