import { ForgeOneError, type CloudEvent, type PluginManifest, type StoredSignature } from '@forgeone/contracts';
import { installationChangeOf, installationKey, pluginEventOf, publishedVersionKey, type DesiredInstallation, type PublishedVersion, type SandboxHost } from '@forgeone/sandbox';
import type { Logger } from '@forgeone/telemetry';

/** One plugin version installed in one environment of one tenant. */
export interface InstalledVersion {
  readonly tenant: string;
  readonly environment: string;
  readonly name: string;
  readonly version: string;
  readonly digest: string;
  readonly manifestDigest: string;
  readonly manifest: PluginManifest;
  /** The signature recorded at publish; undefined for an unsigned version. */
  readonly signature: StoredSignature | undefined;
  /** Allow-list entries naming refused addresses that the publisher was allowed (version_published `privateEgress`). */
  readonly privateEgress: readonly string[];
  /** The SandboxHost key of this installation; unique per installation, so a swap never reuses one. */
  readonly key: string;
}

/** A call's hold on an installation: the version it runs on stays loaded until the lease is released. */
export interface InstallationLease {
  readonly installed: InstalledVersion;
  release(): void;
}

export interface PluginInstallationsDeps {
  readonly host: SandboxHost;
  /**
   * The module bytes of an installation, checked against its digest and, in the service, its
   * signature (ModuleSignatureVerifier): a refusal throws and the module never runs.
   */
  readonly wasm: (installed: InstalledVersion) => Promise<Uint8Array>;
  /** The version_published data of a version the table has not seen (events trimmed from the stream). */
  readonly published: (tenant: string, name: string, version: string) => Promise<PublishedVersion | undefined>;
  /** Runs before a version is unloaded (its calls' records written first). */
  readonly beforeUnload?: (installed: InstalledVersion) => Promise<void>;
  readonly logger: Logger;
  /** The limits a version runs with in its environment (the manifest's, held to the environment's caps); the manifest's when absent. */
  readonly limits?: (installed: InstalledVersion) => Promise<PluginManifest['limits']>;
}

class Slot {
  inflight = 0;
  retired = false;
  refused = false;
  /** Set once `loading` resolved: the module is in the sandbox and a call needs no wait. */
  loaded = false;
  loading: Promise<void> | undefined;
  constructor(readonly installed: InstalledVersion) {}
}

/**
 * The runner's view of what is installed where, fed by the plugin events in stream order.
 * Modules load lazily on the first call; an upgrade or rollback of a version that is already loaded
 * loads the new one first and then switches, so new calls never wait for a compile; when that load
 * fails for a passing reason the old version keeps serving and the event is retried. A superseded or removed
 * version keeps serving the calls that hold a lease on it and is unloaded when the last one ends.
 */
export class PluginInstallations {
  private readonly current = new Map<string, Slot>();
  private readonly versions = new Map<string, PublishedVersion>();
  private readonly retiring = new Set<Slot>();
  private generation = 0;
  private processed = 0;
  private waiters: Array<{ sequence: number; resolve: () => void }> = [];

  constructor(private readonly deps: PluginInstallationsDeps) {}

  /** Stream sequence of the last plugin event applied. */
  get sequence(): number {
    return this.processed;
  }

  /** Installations, for the stats reply. */
  list(): Array<Pick<InstalledVersion, 'tenant' | 'environment' | 'name' | 'version' | 'digest'> & { loaded: boolean; inflight: number }> {
    return [...this.current.values()].map((s) => ({
      tenant: s.installed.tenant,
      environment: s.installed.environment,
      name: s.installed.name,
      version: s.installed.version,
      digest: s.installed.digest,
      loaded: s.loading !== undefined && !s.refused,
      inflight: s.inflight,
    }));
  }

  /** The installed versions of one plugin of a tenant, one per environment it is installed in. */
  installedVersions(tenant: string, name: string): InstalledVersion[] {
    return [...this.current.values()].map((s) => s.installed).filter((i) => i.tenant === tenant && i.name === name);
  }

  /** Superseded versions still finishing calls. */
  get draining(): number {
    return this.retiring.size;
  }

  /** Applies one plugin event (any other type is ignored) and records its sequence. */
  async apply(event: CloudEvent, sequence: number): Promise<void> {
    const plugin = pluginEventOf(event);
    if (plugin !== undefined) {
      const change = installationChangeOf(plugin);
      if (change.kind === 'published') this.versions.set(change.key, change.version);
      else if (change.kind === 'installed') await this.install(change.key, change.installation);
      else if (change.kind === 'removed') this.remove(change.key);
    }
    this.advance(sequence);
  }

  /** Records the sequence of a message that applies nothing (a refused event), so waiters past it are answered. */
  skip(sequence: number): void {
    this.advance(sequence);
  }

  private advance(sequence: number): void {
    this.processed = Math.max(this.processed, sequence);
    this.waiters = this.waiters.filter((w) => {
      if (w.sequence > this.processed) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves true once the event at `sequence` is applied, false after `timeoutMs`. */
  async waitFor(sequence: number, timeoutMs: number): Promise<boolean> {
    if (this.processed >= sequence) return true;
    let timer: NodeJS.Timeout | undefined;
    const reached = new Promise<boolean>((resolve) => this.waiters.push({ sequence, resolve: () => resolve(true) }));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([reached, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Takes a lease on the version installed for (tenant, environment, plugin), loading its module
   * on first use; undefined when nothing is installed there. Release the lease when the call ends.
   */
  async acquire(tenant: string, environment: string, name: string): Promise<InstallationLease | undefined> {
    const slot = this.current.get(installationKey(tenant, environment, name));
    if (slot === undefined) return undefined;
    const lease = this.lease(slot);
    try {
      await this.ensureLoaded(slot);
    } catch (error) {
      lease.release();
      throw error;
    }
    return lease;
  }

  /** {@link acquire} without waiting, for a version whose module is loaded already; undefined otherwise. */
  acquireLoaded(tenant: string, environment: string, name: string): InstallationLease | undefined {
    const slot = this.current.get(installationKey(tenant, environment, name));
    return slot?.loaded ? this.lease(slot) : undefined;
  }

  /** Unloads every version at once (service shutdown). */
  async close(): Promise<void> {
    this.current.clear();
    this.retiring.clear();
    await this.deps.host.close();
  }

  private async install(id: string, { tenant, environment, name, version, digest }: DesiredInstallation): Promise<void> {
    let published = this.versions.get(publishedVersionKey(tenant, name, version));
    if (published === undefined) {
      published = await this.deps.published(tenant, name, version);
      if (published === undefined) {
        throw new ForgeOneError('REGISTRY.VERSION_NOT_FOUND', `${name}@${version} of tenant ${tenant} was installed in ${environment} but its version_published event is not in the stream`, {
          tenant,
          name,
          version,
        });
      }
      this.versions.set(publishedVersionKey(tenant, name, version), published);
    }
    const previous = this.current.get(id);
    const slot = new Slot({
      tenant,
      environment,
      name,
      version,
      digest,
      manifestDigest: published.manifestDigest,
      manifest: published.manifest,
      signature: published.signature,
      privateEgress: published.privateEgress,
      key: `${tenant}:${name}@${version}/${environment}#${++this.generation}`,
    });
    // Swap only once the new version can serve: a caller of a loaded plugin never waits for a compile,
    // and the new version starts as many workers as the old one runs, so the switch spawns none under load.
    if (previous?.loading !== undefined && !previous.refused) {
      try {
        await this.ensureLoaded(slot, this.deps.host.poolStats(previous.installed.key)?.workers);
      } catch (error) {
        const who = { err: error, plugin: name, version, environment, tenant };
        if (!refusesModule(error)) {
          // Switching now would fail every call until a load succeeds. The old version keeps serving and
          // the event is retried, in order (the runner's consumer has one event in flight).
          this.deps.logger.warn(who, 'new version could not be loaded ahead of the swap; the old version keeps serving and the event is retried');
          throw error;
        }
        // The module itself is refused here: retrying cannot help, and the installation says it is this version.
        this.deps.logger.error(who, 'new version was refused by the sandbox; calls will answer with its error');
      }
    }
    this.current.set(id, slot);
    if (previous !== undefined) this.retire(previous);
  }

  private remove(id: string): void {
    const previous = this.current.get(id);
    if (previous === undefined) return;
    this.current.delete(id);
    this.retire(previous);
  }

  private retire(slot: Slot): void {
    slot.retired = true;
    if (slot.inflight === 0) void this.unload(slot);
    else this.retiring.add(slot);
  }

  private lease(slot: Slot): InstallationLease {
    slot.inflight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.inflight--;
      if (slot.retired && slot.inflight === 0) void this.unload(slot);
    };
    return { installed: slot.installed, release };
  }

  private ensureLoaded(slot: Slot, warmWorkers?: number): Promise<void> {
    if (slot.loading === undefined) {
      const { installed } = slot;
      slot.loading = (async () => {
        const wasm = await this.deps.wasm(installed);
        const limits = this.deps.limits ? await this.deps.limits(installed) : installed.manifest.limits;
        await this.deps.host.load({
          key: installed.key,
          wasm,
          digest: installed.digest.replace(/^sha256:/, ''),
          handlers: installed.manifest.handlers,
          abi: installed.manifest.abi,
          capabilities: installed.manifest.capabilities,
          limits,
          ...(warmWorkers !== undefined ? { warmWorkers } : {}),
        });
      })();
      // A load that failed for a passing reason is retried by the next call; a refusal of the module
      // itself (its signature, its bytes, its ABI) stands until another version is installed, so calls
      // do not re-verify and re-record it one by one.
      slot.loading.then(
        () => {
          slot.loaded = true;
        },
        (error: unknown) => {
          if (refusesModule(error)) slot.refused = true;
          else slot.loading = undefined;
        },
      );
    }
    return slot.loading;
  }

  private async unload(slot: Slot): Promise<void> {
    this.retiring.delete(slot);
    if (slot.loading === undefined) return;
    try {
      await slot.loading;
    } catch {
      return;
    }
    await this.deps.beforeUnload?.(slot.installed).catch((error: unknown) => this.deps.logger.error({ err: error, plugin: slot.installed.name, version: slot.installed.version }, 'could not finish before unloading a version'));
    await this.deps.host.unload(slot.installed.key);
    this.deps.logger.info({ plugin: slot.installed.name, version: slot.installed.version, environment: slot.installed.environment, tenant: slot.installed.tenant }, 'plugin version unloaded after its calls finished');
  }
}

// Load failures that are properties of the module or its stored bytes, not of the moment.
const MODULE_REFUSALS = new Set(['REGISTRY.WASM_INVALID', 'REGISTRY.ABI_MISMATCH', 'SANDBOX.MODULE_REJECTED', 'REGISTRY.ARTIFACT_CORRUPT', 'REGISTRY.ARTIFACT_MISSING']);

function refusesModule(error: unknown): boolean {
  return error instanceof ForgeOneError && (MODULE_REFUSALS.has(error.code) || error.code.startsWith('SIGNATURE.'));
}
