/**
 * Configuration changes and upgrades as operations of their own, seen by `ato run`:
 *   at start     the configuration it resolved and the build it is (run-state.ts) against the last run
 *                recorded in the audit directory (attest/last-run.json, signed by the token's key): each
 *                difference is a `config change` or an `upgrade` operation with its bundle and attest record,
 *                written before this run's own; then last-run.json is this run's
 *   while it runs  ato run does not reload its configuration (not on SIGHUP either: it reads it once, at start).
 *                So the config file is watched instead: each interval it is stat'ed, and when it moved its
 *                settings are read; a change is a `config change` operation that says `applied: false` (it
 *                takes effect, and is recorded again as applied, at the next start). SIGHUP makes that check
 *                at once, and keeps the agent running, instead of the default (the process dies unrecorded).
 * The first run in an audit directory records its baseline in its own bundle and nothing else. A last-run.json
 * that is edited, unsigned or signed by another key is not believed: the run says so (a log line and an event
 * of its bundle) and starts a new baseline, so nothing is compared against what someone else wrote.
 * Nothing here stops or delays the agent: the hashing runs off the event loop and failures are log lines.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { AtoError } from "../errors.ts";
import type { AgentConfig } from "../config/index.ts";
import type { EvidenceLog } from "../log/index.ts";
import type { CheckpointSigner } from "../signer/index.ts";
import { writeBundle, type BundleResult } from "./bundle.ts";
import { saveHashCache } from "./cache-file.ts";
import type { HashCache } from "./hash-cache.ts";
import { attestDir, flushPending, writePending } from "./ledger.ts";
import { Operation } from "./operation.ts";
import { buildState, changedBuild, changedSettings, configState, dpkgOf, fileSettings, RUN_STATE_FORMAT, RUN_STATE_NAME, type BuildState, type ConfigState } from "./run-state.ts";
import { loadSigned, saveSigned, type Trust } from "./signed-file.ts";
import { tryOpenSigner } from "./signing.ts";

type Say = (m: string, fields?: Record<string, string | number | undefined>) => void;

interface FileMark {
  key: string;
  settings: Record<string, string> | { error: string };
}

export class RunChanges {
  /** The chain of recordings; finish() waits for it before the run's own bundle is written. */
  private work: Promise<void>;
  private file: FileMark | undefined;
  /** Bundles written, whose attest records wait for the next pause between two collector cycles. */
  private readonly ready: { op: Operation; bundle: BundleResult }[] = [];
  private finished = false;
  // Installed for the agent's whole life: without a handler, SIGHUP would end the process unrecorded.
  private readonly onHup = () => {
    if (this.finished) return this.say("SIGHUP while stopping: ignored");
    this.say("SIGHUP: ato run does not reload its configuration; checking the config file for changes to record");
    this.checkFile("SIGHUP");
  };

  private constructor(private readonly cfg: AgentConfig, private readonly evidence: EvidenceLog, private readonly run: Operation, private readonly sbom: Promise<Buffer>, private readonly say: Say) {
    this.file = cfg.configFile ? markOf(cfg.configFile) : undefined;
    this.work = Promise.resolve();
  }

  /** `cache` and `trust` as the run loaded them; `sbom` is the run's own, being made (it hashes the binary first, through `cache`). */
  static start(cfg: AgentConfig, evidence: EvidenceLog, run: Operation, o: { objectPath: string; sbom: Promise<Buffer>; trust: Trust | null; cache: HashCache }, say: Say): RunChanges {
    const c = new RunChanges(cfg, evidence, run, o.sbom, say);
    c.work = c.atStart(o.objectPath, o.trust, o.cache).catch((e) => c.failed("comparing this run with the last one", e));
    process.on("SIGHUP", c.onHup);
    return c;
  }

  /** Once per interval: the config file's stat, read again only when it moved. */
  interval(): void {
    this.appendReady();
    this.checkFile("file changed while running");
  }

  /** Waits for what is being recorded and appends it; stops watching. */
  async finish(): Promise<void> {
    this.finished = true;
    await this.work;
    this.appendReady();
  }

  /** Called between two cycles (interval, finish), so an attest record never lands inside a cycle's records. */
  private appendReady(): void {
    if (this.ready.length === 0) return;
    flushPending(this.evidence, this.cfg.auditDir); // ours, and any other record that waited
    for (const { op, bundle } of this.ready.splice(0)) {
      this.run.add("recorded", { operation: op.name, op_id: op.id });
      this.say(`${op.name} recorded as operation ${op.id} (signature ${bundle.signatureStatus}), its attest record in the log`);
    }
  }

  private async atStart(objectPath: string, trust: Trust | null, cache: HashCache): Promise<void> {
    await this.sbom; // hashes ato's parts through the cache: the comparison below then reads nothing again
    const dir = attestDir(this.cfg.auditDir);
    const config = configState(this.cfg);
    const prev = loadSigned(join(dir, RUN_STATE_NAME), RUN_STATE_FORMAT, trust);
    const last = "doc" in prev ? (prev.doc as unknown as { config: ConfigState; build: BuildState }) : undefined;
    const build = await buildState(cache, objectPath, false);
    const upgraded = last ? changedBuild(last.build, build) : [];
    // dpkg is asked only when the build is new here: a first run, or an upgrade
    build.dpkg = last && upgraded.length === 0 ? last.build.dpkg : await dpkgOf(build.parts.ato!.path);
    const changed = last ? changedSettings(last.config.settings, config.settings) : [];
    this.run.add("baseline", { config_sha256: config.settings_sha256, config_file: config.file, build, files_read: cache.hashed, cache_hits: cache.hits, previous: last ? "last-run.json" : "absent" in prev ? "none: the first run in this audit directory" : `ignored: ${prev.ignored}` });
    if ("ignored" in prev) this.say(`last run's record ${join(dir, RUN_STATE_NAME)} ignored (${prev.ignored}): this run starts a new baseline`);

    const { signer, error } = tryOpenSigner(this.cfg.pkcs11);
    try {
      if (last && changed.length) {
        const op = Operation.begin("config change", "config", { trigger: "ato run start", applied: true, config_file: config.file });
        op.add("config_changed", { before: { settings_sha256: last.config.settings_sha256, file_settings_sha256: last.config.file_settings_sha256 }, after: { settings_sha256: config.settings_sha256, file_settings_sha256: config.file_settings_sha256 }, changed });
        await this.record(op, signer, error);
      }
      if (last && upgraded.length) {
        const op = Operation.begin("upgrade", "upgrade", { trigger: "ato run start" });
        op.add("upgraded", { changed: upgraded, from: describe(last.build), to: describe(build) });
        await this.record(op, signer, error);
      }
      if (!signer) {
        this.say(`last run's record and hash cache not saved: ${error}`);
        return;
      }
      saveSigned(join(dir, RUN_STATE_NAME), RUN_STATE_FORMAT, { config, build }, signer, "the last run's record");
      saveHashCache(dir, cache, signer);
    } finally {
      signer?.close();
    }
  }

  private checkFile(trigger: string): void {
    const path = this.cfg.configFile;
    if (!path || !this.file) return;
    const now = markOf(path);
    if (now.key === this.file.key) return;
    const before = this.file;
    this.file = now;
    const b = "error" in before.settings ? {} : before.settings;
    const a = "error" in now.settings ? {} : now.settings;
    const changed = changedSettings(b, a);
    if (changed.length === 0 && !("error" in now.settings)) return; // touched, or only comments and other programs' names
    this.say(`config file ${path} changed while running (${changed.map((c) => c.setting).join(", ") || "unreadable"}); not applied until the next start`);
    const op = Operation.begin("config change", "config", { trigger, applied: false, config_file: path, note: "ato run reads its configuration once, at start: this change takes effect at the next start, which records it again as applied" });
    op.add("config_file_changed", { changed, error: "error" in now.settings ? now.settings.error : undefined });
    this.work = this.work.then(async () => {
      const { signer, error } = tryOpenSigner(this.cfg.pkcs11);
      try {
        await this.record(op, signer, error);
      } finally {
        signer?.close();
      }
    }).catch((e) => this.failed(`recording the change of ${path}`, e));
  }

  private async record(op: Operation, signer: CheckpointSigner | null, signerError: string | undefined): Promise<void> {
    const sbom = await this.sbom;
    const bundle = writeBundle(op, { dir: attestDir(this.cfg.auditDir), signer, signerError, outcome: { status: "ok" }, sbom });
    // Its record waits in pending/ until the next pause between cycles: if the agent dies first, the next
    // start appends it (and last-run.json, saved after this, will not make it record the change again).
    writePending(this.cfg.auditDir, bundle);
    this.ready.push({ op, bundle });
  }

  private failed(what: string, e: unknown): void {
    if (!(e instanceof AtoError)) throw e;
    this.say(`${what} failed: ${e.message}`);
  }
}

/** The config file's identity (inode, size, mtime, ctime) and its ato settings, or why they cannot be read. */
function markOf(path: string): FileMark {
  let key: string;
  try {
    const s = statSync(path, { bigint: true });
    key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (e) {
    return { key: `absent:${(e as NodeJS.ErrnoException).code}`, settings: { error: `cannot stat it (${(e as NodeJS.ErrnoException).code})` } };
  }
  try {
    return { key, settings: fileSettings(path) };
  } catch (e) {
    if (!(e instanceof AtoError)) throw e;
    return { key, settings: { error: e.message } };
  }
}

const describe = (b: BuildState) => ({
  version: b.version, commit: b.commit, dpkg: b.dpkg,
  ...Object.fromEntries(Object.entries(b.parts).map(([k, p]) => [k, { path: p.path, sha256: p.sha256 }])),
});
