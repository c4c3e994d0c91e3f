import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ForgeOneError, type DropRejectionCheck } from '@forgeone/contracts';
import type { ApiClient, PluginDetailReply } from '../api-client.js';
import { MANIFEST_FILE, readPluginFolder } from '../plugin-folder.reader.js';
import { readSignatureFile } from '../commands/sign.command.js';
import { DEFAULT_DROP_LIMITS, dropSnapshot, inspectDropFolder, printable, rejectionFileName, WATCHER_FOLDER, type DropLimits } from './drop-folder.checks.js';

export interface ReconcilerOptions {
  readonly dir: string;
  readonly environment: string;
  /** A folder that disappears takes its installation with it (default true). */
  readonly removeMissing: boolean;
  /** How long the files of a drop must keep their size and time before they are read. */
  readonly settleMs: number;
  readonly limits?: DropLimits;
}

/** What happened to one folder in one pass; printed as one line. */
export interface FolderOutcome {
  readonly folder: string;
  readonly outcome: 'published' | 'installed' | 'upgraded' | 'unchanged' | 'removed' | 'rejected' | 'gated' | 'waiting' | 'failed';
  readonly message: string;
  /** WATCH.ENVIRONMENT_GATED when the environment became gated: the folder is not at fault and nothing was changed. */
  readonly code?: typeof ENVIRONMENT_GATED;
  readonly plugin?: string;
  readonly version?: string;
  readonly digest?: string;
  readonly check?: DropRejectionCheck;
  /** The drop_rejected event the registry appended for a rejection (absent when reporting failed or it was already reported). */
  readonly eventId?: string;
}

interface InstalledFromFolder {
  readonly plugin: string;
  readonly version: string;
  readonly digest: string;
}

/** Which folder put which plugin into the environment, so a removed folder removes only what it installed. */
interface WatcherState {
  readonly version: 1;
  readonly environment: string;
  folders: Record<string, InstalledFromFolder>;
}

/** A refusal of the drop itself (the folder must change), as opposed to a failure to reach or convince the platform. */
class DropRefusal extends Error {
  constructor(
    readonly check: DropRejectionCheck,
    message: string,
    readonly plugin?: string,
    readonly version?: string,
  ) {
    super(message);
  }
}

/** The watcher's own refusal to change an environment that takes versions by promotion only. */
export const ENVIRONMENT_GATED = 'WATCH.ENVIRONMENT_GATED';

/** The environment became gated since the watcher started: not the drop's fault, so no rejection is reported. */
class EnvironmentGated extends Error {}

// Platform refusals that only a change of the folder can fix; everything else (unreachable, unauthorised,
// conflicts) is the platform's or the watcher's problem and is retried, not held against the drop.
function refusalCheck(error: unknown): DropRejectionCheck | undefined {
  if (!(error instanceof ForgeOneError)) return undefined;
  const code = error.code as string;
  if (code === 'REGISTRY.GATED_ENVIRONMENT') return undefined;
  if (code === 'REGISTRY.MANIFEST_INVALID') return 'manifest-invalid';
  if (code === 'REGISTRY.WASM_INVALID' || code === 'REGISTRY.ABI_MISMATCH') return 'wasm-invalid';
  if (code === 'COMMAND.TOO_LARGE') return 'too-large';
  if (code.startsWith('SIGNATURE.')) return 'signature-invalid';
  if (code.startsWith('REGISTRY.')) return 'refused';
  return undefined;
}

function describe(error: unknown): string {
  if (error instanceof ForgeOneError) {
    const problems = error.details?.['problems'];
    const list = Array.isArray(problems) ? problems.map((p) => `\n  - ${typeof p === 'string' ? p : JSON.stringify(p)}`).join('') : '';
    return `${error.message} (${error.code})${list}`;
  }
  return error instanceof Error ? error.message : String(error);
}

// Checks of the files inside a folder (as opposed to its name or the folder itself).
const FILE_CHECKS = new Set<DropRejectionCheck>(['missing-file', 'too-large', 'special-file', 'symlink']);

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Keeps one environment in line with a plugins/ directory, one folder at a time: checks the folder
 * (drop-folder.checks), waits until its files stop changing, reads it with the CLI's own reader,
 * and compares with what the platform already has (the published digest of that version, the
 * version installed in the environment) before it publishes, installs, upgrades or removes. A
 * refused drop is written to `.forgeone/rejected/<folder>.txt` and recorded by the registry; the
 * folder itself is never changed.
 */
export class PluginsDirectoryReconciler {
  private readonly root: string;
  private readonly limits: DropLimits;
  // Folders whose files were reconciled as they are now: a repeated file event costs no API call.
  private readonly settled = new Map<string, string>();
  private state: WatcherState | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly options: ReconcilerOptions,
  ) {
    this.root = resolve(options.dir);
    this.limits = options.limits ?? DEFAULT_DROP_LIMITS;
  }

  /** Every folder of DIR, then the folders the state remembers that are gone. */
  async reconcileAll(): Promise<FolderOutcome[]> {
    const names = (await readdir(this.root)).filter((name) => name !== WATCHER_FOLDER).sort();
    const state = await this.loadState();
    const outcomes: FolderOutcome[] = [];
    for (const name of names) {
      const outcome = await this.reconcileFolder(name);
      if (outcome) outcomes.push(outcome);
    }
    for (const name of Object.keys(state.folders).sort()) {
      if (names.includes(name)) continue;
      const outcome = await this.reconcileFolder(name);
      if (outcome) outcomes.push(outcome);
    }
    return outcomes;
  }

  /** One folder of DIR as it is now; undefined when it is not a drop and never was. */
  async reconcileFolder(name: string): Promise<FolderOutcome | undefined> {
    const state = await this.loadState();
    try {
      let inspection = await inspectDropFolder(this.root, name, this.limits);
      // A folder being copied in place lacks files or has short ones for a while: judge its files once they settle.
      let snapshot: string | undefined;
      if (inspection.kind === 'ready' || (inspection.kind === 'rejected' && FILE_CHECKS.has(inspection.check))) {
        snapshot = await this.settle(join(this.root, name));
        if (snapshot === undefined) return { folder: name, outcome: 'waiting', message: `files still being written; read once they stop changing for ${this.options.settleMs} ms` };
        inspection = await inspectDropFolder(this.root, name, this.limits);
      }
      switch (inspection.kind) {
        case 'ignored':
          return undefined;
        case 'absent':
          return await this.folderGone(name);
        case 'rejected':
          return await this.reject(name, new DropRefusal(inspection.check, inspection.reason));
        case 'ready':
          break;
      }
      if (snapshot === undefined || this.settled.get(name) === snapshot) return undefined;
      return await this.apply(name, inspection.path, snapshot, state);
    } catch (error) {
      if (error instanceof DropRefusal) return await this.reject(name, error);
      // The registry's own refusal covers a change of settings between the watcher's check and its install.
      if (error instanceof EnvironmentGated || (error instanceof ForgeOneError && error.code === 'REGISTRY.GATED_ENVIRONMENT')) {
        this.settled.delete(name);
        return { folder: name, outcome: 'gated', code: ENVIRONMENT_GATED, message: error instanceof EnvironmentGated ? error.message : (await this.gatedMessage().catch(() => '')) || `${describe(error)}; the watcher tries again` };
      }
      const check = refusalCheck(error);
      if (check) return await this.reject(name, new DropRefusal(check, describe(error)));
      this.settled.delete(name);
      return { folder: name, outcome: 'failed', message: `${describe(error)}; tried again on the next change or pass` };
    }
  }

  // Size, time and inode unchanged over the settle time; undefined when they kept changing for ten of them.
  private async settle(path: string): Promise<string | undefined> {
    let before = await dropSnapshot(path);
    for (let attempt = 0; attempt < 10; attempt++) {
      await sleep(this.options.settleMs);
      const after = await dropSnapshot(path);
      if (after === before) return after;
      before = after;
    }
    return undefined;
  }

  private async apply(name: string, path: string, snapshot: string, state: WatcherState): Promise<FolderOutcome> {
    // The CLI's publish path: the same reader and signature file as `plugin publish`.
    const folder = await readPluginFolder(path, this.root).catch((error: unknown) => {
      const check = refusalCheck(error) ?? 'missing-file';
      throw new DropRefusal(check, describe(error));
    });
    const signature = await readSignatureFile(path);
    // What was read must be what is there: a file that changed while it was read is read again later.
    if ((await dropSnapshot(path)) !== snapshot) return { folder: name, outcome: 'waiting', message: 'files changed while they were read; read again once they settle' };

    const plugin = String(folder.manifest['name']);
    const version = String(folder.manifest['version']);
    const digest = `sha256:${createHash('sha256').update(folder.wasm).digest('hex')}`;
    const claimedBy = Object.entries(state.folders).find(([other, entry]) => other !== name && entry.plugin === plugin);
    if (claimedBy) {
      // A folder renamed: the plugin moves to its new name instead of being removed with the old one.
      if ((await inspectDropFolder(this.root, claimedBy[0], this.limits)).kind === 'absent') delete state.folders[claimedBy[0]];
      else throw new DropRefusal('refused', `${plugin} is already installed from folder ${printable(claimedBy[0])}; one folder per plugin`, plugin, version);
    }
    const previous = state.folders[name];
    if (previous && previous.plugin !== plugin && this.options.removeMissing) await this.removeInstallation(previous.plugin);
    const detail = await this.pluginDetail(plugin);
    const published = detail?.versions.find((v) => v.version === version);
    if (published && published.digest !== digest) {
      throw new DropRefusal(
        'refused',
        `${plugin}@${version} is already published with another module (${published.digest}); a published version never changes: raise "version" in forgeone.plugin.json`,
        plugin,
        version,
      );
    }
    const steps: string[] = [];
    let outcome: FolderOutcome['outcome'] = 'unchanged';
    const installed = detail?.installations.find((i) => i.environment === this.options.environment && i.status === 'installed');
    if (!published || installed?.version !== version) await this.refuseIfGated();
    if (!published) {
      try {
        await this.api.publishPlugin(folder.manifest, folder.wasm, signature);
      } catch (error) {
        const check = refusalCheck(error);
        if (check) throw new DropRefusal(check, describe(error), plugin, version);
        throw error;
      }
      steps.push(`published ${plugin}@${version} ${digest.slice(0, 19)}`);
      outcome = 'published';
    }
    try {
      if (!installed) {
        await this.api.installPlugin(this.options.environment, plugin, version);
        steps.push(`installed in ${this.options.environment}`);
        if (outcome === 'unchanged') outcome = 'installed';
      } else if (installed.version !== version) {
        await this.api.upgradePlugin(this.options.environment, plugin, version);
        steps.push(`upgraded ${this.options.environment} from ${installed.version}`);
        if (outcome === 'unchanged') outcome = 'upgraded';
      }
    } catch (error) {
      const check = refusalCheck(error);
      if (check) throw new DropRefusal(check, describe(error), plugin, version);
      throw error;
    }
    state.folders[name] = { plugin, version, digest };
    await this.saveState();
    await this.clearRejection(name);
    this.settled.set(name, snapshot);
    const message = steps.length ? steps.join(', ') : `unchanged: ${plugin}@${version} is installed in ${this.options.environment}`;
    return { folder: name, outcome, message, plugin, version, digest };
  }

  private async folderGone(name: string): Promise<FolderOutcome | undefined> {
    this.settled.delete(name);
    await this.clearRejection(name);
    const state = await this.loadState();
    const entry = state.folders[name];
    if (!entry) return undefined;
    // Renamed rather than taken away: the folder that now holds the plugin keeps its installation.
    const movedTo = await this.folderHolding(entry.plugin, name);
    if (movedTo !== undefined) {
      delete state.folders[name];
      await this.saveState();
      return { folder: name, outcome: 'unchanged', message: `folder gone; ${entry.plugin} is now in folder ${printable(movedTo)} and stays installed`, plugin: entry.plugin };
    }
    if (!this.options.removeMissing) {
      delete state.folders[name];
      await this.saveState();
      return { folder: name, outcome: 'unchanged', message: `folder removed; ${entry.plugin} stays installed in ${this.options.environment} (--no-remove-missing)`, plugin: entry.plugin };
    }
    const removed = await this.removeInstallation(entry.plugin);
    delete state.folders[name];
    await this.saveState();
    return {
      folder: name,
      outcome: removed ? 'removed' : 'unchanged',
      message: removed ? `folder removed: removed ${entry.plugin}@${removed} from ${this.options.environment}` : `folder removed; ${entry.plugin} was no longer installed in ${this.options.environment}`,
      plugin: entry.plugin,
    };
  }

  // Another folder of DIR whose manifest names `plugin` (read only when it is a regular file within the limit).
  private async folderHolding(plugin: string, except: string): Promise<string | undefined> {
    for (const other of await readdir(this.root)) {
      if (other === except || other === WATCHER_FOLDER) continue;
      const inspection = await inspectDropFolder(this.root, other, this.limits);
      if (inspection.kind !== 'ready') continue;
      try {
        const manifest = JSON.parse((await readFile(join(inspection.path, MANIFEST_FILE), 'utf8')).replace(/^\uFEFF/, '')) as { name?: unknown };
        if (manifest.name === plugin) return other;
      } catch {
        // Not readable as a manifest: not the folder that holds it.
      }
    }
    return undefined;
  }

  // The version removed, or undefined when the platform shows no installation there (nothing to do).
  private async removeInstallation(plugin: string): Promise<string | undefined> {
    const detail = await this.pluginDetail(plugin);
    const installed = detail?.installations.find((i) => i.environment === this.options.environment && i.status === 'installed');
    if (!installed) return undefined;
    // The registry removes from any environment; keeping a gated one out is the watcher's own rule.
    await this.refuseIfGated();
    await this.api.removePlugin(this.options.environment, plugin);
    return installed.version;
  }

  // Read fresh before every change: an administrator may gate the environment while the watcher runs.
  private async refuseIfGated(): Promise<void> {
    const message = await this.gatedMessage();
    if (message) throw new EnvironmentGated(message);
  }

  private async gatedMessage(): Promise<string> {
    const env = this.options.environment;
    const { settings } = await this.api.showEnvironment(env);
    if (!settings.gated) return '';
    return `refused (${ENVIRONMENT_GATED}): ${env} is gated now (versions come by promotion from ${settings.promotedFrom ?? 'another environment'}), and the plugins directory only keeps an environment that is not gated; nothing was published, installed or removed for this folder. Ungate ${env} (forgeone env set ${env} --ungated) or watch another environment; the watcher tries again meanwhile`;
  }

  private async pluginDetail(plugin: string): Promise<PluginDetailReply | undefined> {
    try {
      return await this.api.showPlugin(plugin);
    } catch (error) {
      if (error instanceof ForgeOneError && error.code === 'QUERY.NOT_FOUND') return undefined;
      throw error;
    }
  }

  /**
   * Writes `.forgeone/rejected/<folder>.txt` and has the registry record the refusal, unless the file
   * already says the same and that it was recorded (a restart or a repeated event reports nothing new).
   */
  private async reject(name: string, refusal: DropRefusal): Promise<FolderOutcome> {
    this.settled.delete(name);
    const body = `folder: ${printable(name)}\nrefused: ${refusal.check}\n${refusal.message}\n`;
    const file = join(this.root, WATCHER_FOLDER, 'rejected', rejectionFileName(name));
    const existing = await readFile(file, 'utf8').catch(() => undefined);
    const base = { folder: name, outcome: 'rejected' as const, check: refusal.check, message: `refused (${refusal.check}): ${refusal.message.split('\n')[0]}` };
    if (existing?.startsWith(body) && /\nrecorded: event \S+\n$/.test(existing.slice(body.length - 1))) return base;
    let recorded: string;
    let eventId: string | undefined;
    try {
      const receipt = await this.api.reportDropRejected(this.options.environment, {
        folder: name.slice(0, 255),
        check: refusal.check,
        reason: refusal.message.slice(0, 4000),
        ...(refusal.plugin && refusal.version ? { plugin: refusal.plugin, version: refusal.version } : {}),
      });
      eventId = receipt.eventId;
      recorded = `recorded: event ${receipt.eventId}\n`;
    } catch (error) {
      recorded = `not recorded yet (retried on the next pass): ${describe(error).split('\n')[0]}\n`;
    }
    await this.writePrivate(file, body + recorded);
    return { ...base, ...(eventId ? { eventId } : {}), ...(refusal.plugin ? { plugin: refusal.plugin } : {}), ...(refusal.version ? { version: refusal.version } : {}) };
  }

  private async clearRejection(name: string): Promise<void> {
    await rm(join(this.root, WATCHER_FOLDER, 'rejected', rejectionFileName(name)), { force: true });
  }

  private get stateFile(): string {
    return join(this.root, WATCHER_FOLDER, `installed-${this.options.environment}.json`);
  }

  private async loadState(): Promise<WatcherState> {
    if (this.state) return this.state;
    const text = await readFile(this.stateFile, 'utf8').catch(() => undefined);
    let folders: Record<string, InstalledFromFolder> = {};
    if (text) {
      try {
        const parsed = JSON.parse(text) as Partial<WatcherState>;
        if (parsed && typeof parsed.folders === 'object' && parsed.folders !== null) folders = parsed.folders;
      } catch {
        // A damaged file only loses the memory of which folder installed what: nothing is removed on its account.
      }
    }
    this.state = { version: 1, environment: this.options.environment, folders };
    return this.state;
  }

  private async saveState(): Promise<void> {
    if (this.state) await this.writePrivate(this.stateFile, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  // Written beside and renamed into place, so a reader never sees half a file.
  private async writePrivate(file: string, text: string): Promise<void> {
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, file);
  }
}
