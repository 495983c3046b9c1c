/**
 * Isolated SoftHSM tokens for tests. Each call makes a unique temp directory with its own
 * softhsm2.conf and token directory, points SOFTHSM2_CONF at it (in the real C environment
 * too, which SoftHSM reads at C_Initialize; Bun's process.env does not reach getenv), and
 * returns the environment a child process needs. cleanup() removes everything and restores
 * SOFTHSM2_CONF; call it in afterEach/afterAll. Directories a test forgot are removed at exit.
 *
 *   const tok = await createToken({ keyType: "ed25519" });
 *   const signer = openSigner({ modulePath: tok.modulePath, tokenLabel: tok.tokenLabel, pin: tok.pin, keyLabel: tok.keyLabel });
 *   Bun.spawnSync(["bun", "src/main.ts", "hsm", "info"], { env: { ...process.env, ...tok.env } });
 *
 * SoftHSM reads its configuration when the module is initialised: close every signer of one
 * token before creating the next, or the process keeps seeing the first one.
 */
import { dlopen, FFIType } from "bun:ffi";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";
const ATO_MAIN = resolve(import.meta.dir, "../../src/main.ts");

export type TestKeyType = "ed25519" | "ecdsa-p256";

export interface SoftHsm {
  /** The unique directory holding softhsm2.conf and tokens/. */
  dir: string;
  modulePath: string;
  /** Variables for child processes: merge as { ...process.env, ...env }. */
  env: Record<string, string>;
  cleanup(): void;
}

export interface TestToken extends SoftHsm {
  pin: string;
  soPin: string;
  tokenLabel: string;
  /** Empty when keyType is "none". */
  keyLabel: string;
  keyType: TestKeyType | "none";
}

export interface TokenOptions {
  keyType?: TestKeyType | "none";
  tokenLabel?: string;
  keyLabel?: string;
  /** Who makes the token and key: pkcs11-tool and softhsm2-util (default), or `ato hsm init`. */
  generator?: "pkcs11-tool" | "ato";
}

const libc = dlopen("libc.so.6", {
  setenv: { args: [FFIType.cstring, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  unsetenv: { args: [FFIType.cstring], returns: FFIType.i32 },
});
const cstr = (s: string) => Buffer.from(`${s}\0`);

/** Sets (or unsets) a variable in process.env and in the C environment native modules read. */
export function setProcessEnv(name: string, value: string | undefined): void {
  if (value === undefined) {
    delete process.env[name];
    libc.symbols.unsetenv(cstr(name));
  } else {
    process.env[name] = value;
    libc.symbols.setenv(cstr(name), cstr(value), 1);
  }
}

const live = new Set<string>();
process.on("exit", () => {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
});

/** An empty SoftHSM (a free slot only) in its own directory, selected for this process. */
export function createSoftHsm(): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), `ato-softhsm-${process.pid}-`));
  live.add(dir);
  const tokens = join(dir, "tokens");
  mkdirSync(tokens);
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const previous = process.env.SOFTHSM2_CONF;
  setProcessEnv("SOFTHSM2_CONF", conf);
  let cleaned = false;
  return {
    dir,
    modulePath: SOFTHSM_MODULE,
    env: { SOFTHSM2_CONF: conf, PKCS11_MODULE_PATH: SOFTHSM_MODULE },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      rmSync(dir, { recursive: true, force: true });
      live.delete(dir);
      if (process.env.SOFTHSM2_CONF === conf) setProcessEnv("SOFTHSM2_CONF", previous);
    },
  };
}

/** A SoftHSM with one initialised token (random PINs) and, unless keyType is "none", a key pair. */
export async function createToken(opts: TokenOptions = {}): Promise<TestToken> {
  const keyType = opts.keyType ?? "ed25519";
  const hsm = createSoftHsm();
  const pin = randomBytes(8).toString("hex");
  const soPin = randomBytes(8).toString("hex");
  const tokenLabel = opts.tokenLabel ?? `ato-test-${randomBytes(4).toString("hex")}`;
  const keyLabel = keyType === "none" ? "" : (opts.keyLabel ?? `ato-${keyType}`);
  const env = { ...hsm.env, PKCS11_PIN: pin, HSM_TOKEN_LABEL: tokenLabel, HSM_KEY_LABEL: keyLabel };
  try {
    if (opts.generator === "ato" && keyType !== "none") {
      await run(["bun", ATO_MAIN, "hsm", "init", "--key-type", keyType], { ...env, PKCS11_SO_PIN: soPin });
    } else {
      await run(["softhsm2-util", "--init-token", "--free", "--label", tokenLabel, "--so-pin", soPin, "--pin", pin], env);
      if (keyType !== "none") {
        const curve = keyType === "ed25519" ? "EC:edwards25519" : "EC:prime256v1";
        const id = randomBytes(4).toString("hex");
        await run(
          ["pkcs11-tool", "--module", hsm.modulePath, "--token-label", tokenLabel, "--login", "--pin", pin, "--keypairgen", "--key-type", curve, "--label", keyLabel, "--id", id],
          env,
        );
      }
    }
  } catch (e) {
    hsm.cleanup();
    throw e;
  }
  return { ...hsm, env, pin, soPin, tokenLabel, keyLabel, keyType };
}

async function run(cmd: string[], env: Record<string, string>): Promise<void> {
  const proc = Bun.spawn(cmd, { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd[0]} ${cmd[1]} ${cmd[2]} exited with ${code}:\n${out}${err}`);
}
