/**
 * Each `ato hsm` action as an operation. A command's run is wrapped: the action runs as it would, then a
 * bundle says which action, on which module, token and key, and how it ended (an error by its code and its
 * masked message). It is recorded only where ato keeps evidence already (the audit directory holds a log),
 * so a first `hsm init` on a new host, or a test's, writes nothing there. The action's own error is what the
 * caller sees; a bundle that cannot be written is one warning line.
 */
import type { CommandDef } from "citty";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import type { Settings } from "../config/index.ts";
import type { OpenSignerOptions } from "../signer/index.ts";
import { ACTIVE_LOG_NAME } from "../log/index.ts";
import { writeBundle } from "./bundle.ts";
import { attestDir, logBundle } from "./ledger.ts";
import { Operation } from "./operation.ts";
import { tryOpenSigner } from "./signing.ts";

export interface ActionSettings {
  auditDir: string;
  signer: OpenSignerOptions & { modulePath: string; keyLabel: string };
}

/** What an action's bundle needs, from a command's settings. */
export function actionSettings(s: Settings): ActionSettings {
  return { auditDir: s.get("auditDir")!, signer: { modulePath: s.get("modulePath")!, tokenLabel: s.get("tokenLabel"), keyLabel: s.get("keyLabel")!, pin: s.get("pin") || undefined } };
}

type Ctx = { args: Record<string, unknown>; rawArgs: string[] };

/** The same commands, each run recorded as an operation named `${prefix} ${name}`. */
export function attestedCommands<T extends Record<string, CommandDef<any>>>(prefix: string, commands: T, settings: (command: string, ctx: Ctx) => ActionSettings): T {
  const out: Record<string, CommandDef<any>> = {};
  for (const [name, cmd] of Object.entries(commands)) {
    out[name] = { ...cmd, run: async (ctx: any) => recordAction(`${prefix} ${name}`, () => settings(`${prefix} ${name}`, ctx), () => cmd.run!(ctx)) };
  }
  return out as T;
}

async function recordAction(action: string, settings: () => ActionSettings, run: () => unknown): Promise<unknown> {
  const s = settings();
  if (!existsSync(join(s.auditDir, ACTIVE_LOG_NAME))) return run();
  const op = Operation.begin(action, "hsm", { module: s.signer.modulePath, token_label: s.signer.tokenLabel ?? null, key_label: s.signer.keyLabel });
  let failure: unknown;
  try {
    return await run();
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    const err = failure instanceof AtoError ? { code: failure.code, message: failure.message } : failure ? { code: "INTERNAL", message: String(failure) } : undefined;
    op.add("action_ended", { outcome: failure ? "failed" : "ok", error: err });
    record(op, s, failure ? "failed" : "ok");
  }
}

function record(op: Operation, s: ActionSettings, status: string): void {
  const warn = (m: string) => process.stderr.write(`ato: ${m}\n`);
  const { signer, error } = tryOpenSigner(s.signer);
  try {
    const b = writeBundle(op, { dir: attestDir(s.auditDir), signer, signerError: error, outcome: { status }, sbom: { modulePath: s.signer.modulePath } });
    const logged = logBundle(s.auditDir, signer, b, warn);
    warn(`operation ${b.opId} (${op.name}) recorded: ${b.files.jsonl}${"pending" in logged ? ", attest record pending" : `, evidence log seq ${logged.seq}`}`);
  } catch (e) {
    signer?.close();
    if (!(e instanceof AtoError && (e.code === "IO" || e.code === "BUSY" || e.code === "CORRUPT"))) throw e;
    warn(`operation ${op.id} (${op.name}) not recorded: ${e.message}`);
  }
}
