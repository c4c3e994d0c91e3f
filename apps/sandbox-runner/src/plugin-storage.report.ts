import { effectiveStorageQuota, type PluginStorageReply, type StorageQuotaSettings } from '@forgeone/contracts';
import { isUnreachable, unavailable } from '@forgeone/event-store';
import type { PluginStorage } from '@forgeone/plugin-storage';
import type { PluginInstallations } from './plugin-installations.table.js';

/**
 * A plugin's storage quota and usage per environment (where it is installed or still holds data) and
 * its tenant's total, for `forgeone.cmd.sandbox-runner.storage` and so for `forgeone plugin show`.
 */
export class PluginStorageReport {
  constructor(
    private readonly storage: PluginStorage,
    private readonly installations: PluginInstallations,
    private readonly settings: StorageQuotaSettings,
  ) {}

  async of(tenant: string, name: string): Promise<PluginStorageReply> {
    const [used, tenantUsed] = await Promise.all([this.storage.usageByEnvironment(tenant, name), this.storage.tenantUsage(tenant)]).catch((error: unknown) => {
      // JetStream out of reach (a cluster electing a new leader, say) is unavailability, not an internal fault.
      throw isUnreachable(error) ? unavailable(`reading the storage usage of ${name}`, error) : error;
    });
    const installed = new Map(this.installations.installedVersions(tenant, name).map((i) => [i.environment, i]));
    const environments = [...new Set([...used.keys(), ...installed.keys()])].sort().map((environment) => {
      const version = installed.get(environment);
      // Not installed: a later install brings its manifest's quota; until then the default applies.
      const quota = effectiveStorageQuota(version?.manifest.limits ?? {}, this.settings);
      const usage = used.get(environment) ?? { bytes: 0, keys: 0 };
      return { environment, version: version?.version ?? null, usedBytes: usage.bytes, usedKeys: usage.keys, ...quota };
    });
    return {
      tenant: { usedBytes: tenantUsed.bytes, usedKeys: tenantUsed.keys, ...this.settings.tenant },
      environments,
    };
  }
}
