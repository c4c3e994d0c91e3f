import type { DataSource } from 'typeorm';
import { In } from 'typeorm';
import { InstallationEntity, PluginEntity, PluginVersionEntity } from '../entities/read-model.entities.js';
import type { InstallationRow } from '../projections/installations.projection.js';
import type { PluginVersionRow } from '../projections/plugin-versions.projection.js';
import type { PluginRow } from '../projections/plugins.projection.js';

/** A plugin with its installations, as `plugin list` shows it. */
export interface PluginListItem extends PluginRow {
  readonly installations: InstallationRow[];
}

/** A plugin with every version and installation, as `plugin show` shows it. */
export interface PluginDetails extends PluginRow {
  /** Oldest publication first. */
  readonly versions: PluginVersionRow[];
  readonly installations: InstallationRow[];
}

/**
 * The tenant's plugins by name, each with its installations by environment (removed ones included,
 * with status `removed`). With `environment`, only plugins currently installed there, and only that
 * installation.
 */
export async function listPlugins(ds: DataSource, query: { tenant: string; environment?: string }): Promise<PluginListItem[]> {
  const installationRepo = ds.getRepository(InstallationEntity);
  const pluginRepo = ds.getRepository(PluginEntity);
  if (query.environment !== undefined) {
    const installations = await installationRepo.find({
      where: { tenant: query.tenant, environment: query.environment, status: 'installed' },
      order: { name: 'ASC' },
    });
    if (installations.length === 0) return [];
    const plugins = await pluginRepo.find({ where: { tenant: query.tenant, name: In(installations.map((i) => i.name)) }, order: { name: 'ASC' } });
    return withInstallations(plugins, installations);
  }
  const [plugins, installations] = await Promise.all([
    pluginRepo.find({ where: { tenant: query.tenant }, order: { name: 'ASC' } }),
    installationRepo.find({ where: { tenant: query.tenant }, order: { name: 'ASC', environment: 'ASC' } }),
  ]);
  return withInstallations(plugins, installations);
}

/** One plugin with its versions and installations, or null when the tenant has no such plugin. */
export async function getPlugin(ds: DataSource, query: { tenant: string; name: string }): Promise<PluginDetails | null> {
  const where = { tenant: query.tenant, name: query.name };
  const [plugin, versions, installations] = await Promise.all([
    ds.getRepository(PluginEntity).findOneBy(where),
    ds.getRepository(PluginVersionEntity).find({ where, order: { publishedSequence: 'ASC' } }),
    ds.getRepository(InstallationEntity).find({ where, order: { environment: 'ASC' } }),
  ]);
  return plugin ? { ...plugin, versions, installations } : null;
}

function withInstallations(plugins: PluginRow[], installations: InstallationRow[]): PluginListItem[] {
  const byName = new Map<string, InstallationRow[]>();
  for (const installation of installations) byName.set(installation.name, [...(byName.get(installation.name) ?? []), installation]);
  return plugins.map((plugin) => ({ ...plugin, installations: byName.get(plugin.name) ?? [] }));
}
