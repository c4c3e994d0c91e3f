import { PLUGIN_EVENT_TYPES } from '@forgeone/contracts';
import { isoTime, type Projection } from './projection.types.js';

export type InstallationStatus = 'installed' | 'removed';

/** One row per plugin and environment; a removed installation stays, with status `removed`. */
export interface InstallationRow {
  readonly tenant: string;
  readonly name: string;
  readonly environment: string;
  /** The version installed, or for a removed installation the version that was removed. */
  readonly version: string;
  readonly digest: string;
  readonly status: InstallationStatus;
  /** When the current installation began (install, or reinstall after a removal); upgrades and rollbacks keep it. */
  readonly installedAt: string;
  readonly updatedAt: string;
  readonly lastSequence: number;
}

export type InstallationKey = Pick<InstallationRow, 'tenant' | 'name' | 'environment'>;

export const installationsProjection: Projection<InstallationRow, InstallationKey> = {
  name: 'installations',

  keyOf(event) {
    switch (event.type) {
      case PLUGIN_EVENT_TYPES.installed:
      case PLUGIN_EVENT_TYPES.upgraded:
      case PLUGIN_EVENT_TYPES.rolledBack:
      case PLUGIN_EVENT_TYPES.removed:
        return { tenant: event.tenant, name: event.data.name, environment: event.data.environment };
      default:
        return null;
    }
  },

  evolve(row, { sequence, event }) {
    if (row && sequence <= row.lastSequence) return row;
    const at = isoTime(event.time);
    switch (event.type) {
      case PLUGIN_EVENT_TYPES.installed:
        return {
          tenant: event.tenant,
          name: event.data.name,
          environment: event.data.environment,
          version: event.data.version,
          digest: event.data.digest,
          status: 'installed',
          installedAt: at,
          updatedAt: at,
          lastSequence: sequence,
        };
      case PLUGIN_EVENT_TYPES.upgraded:
      case PLUGIN_EVENT_TYPES.rolledBack:
        return {
          tenant: event.tenant,
          name: event.data.name,
          environment: event.data.environment,
          version: event.data.version,
          digest: event.data.digest,
          status: 'installed',
          // An upgrade or rollback without a known installation still shows the plugin as installed from now on.
          installedAt: row?.status === 'installed' ? row.installedAt : at,
          updatedAt: at,
          lastSequence: sequence,
        };
      case PLUGIN_EVENT_TYPES.removed:
        if (!row) return null;
        return { ...row, status: 'removed', updatedAt: at, lastSequence: sequence };
      default:
        return row;
    }
  },
};
