import { PLUGIN_EVENT_TYPES } from '@forgeone/contracts';
import semver from 'semver';
import { isoTime, type Projection } from './projection.types.js';

/** One row per plugin: what `plugin list` shows before installations are joined in. */
export interface PluginRow {
  readonly tenant: string;
  readonly name: string;
  /** Highest published version by semver precedence (not the most recently published one). */
  readonly latestVersion: string;
  readonly versionsCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSequence: number;
}

export type PluginKey = Pick<PluginRow, 'tenant' | 'name'>;

export const pluginsProjection: Projection<PluginRow, PluginKey> = {
  name: 'plugins',

  keyOf(event) {
    return event.type === PLUGIN_EVENT_TYPES.versionPublished ? { tenant: event.tenant, name: event.data.name } : null;
  },

  evolve(row, { sequence, event }) {
    if (row && sequence <= row.lastSequence) return row;
    if (event.type !== PLUGIN_EVENT_TYPES.versionPublished) return row;
    const at = isoTime(event.time);
    if (!row) {
      return {
        tenant: event.tenant,
        name: event.data.name,
        latestVersion: event.data.version,
        versionsCount: 1,
        createdAt: at,
        updatedAt: at,
        lastSequence: sequence,
      };
    }
    return {
      ...row,
      latestVersion: semver.gt(event.data.version, row.latestVersion) ? event.data.version : row.latestVersion,
      versionsCount: row.versionsCount + 1,
      updatedAt: at,
      lastSequence: sequence,
    };
  },
};
