import { PLUGIN_EVENT_TYPES, type PluginManifest } from '@forgeone/contracts';
import { isoTime, type Projection } from './projection.types.js';

/** One row per published version; versions are immutable, so the row never changes once written. */
export interface PluginVersionRow {
  readonly tenant: string;
  readonly name: string;
  readonly version: string;
  readonly digest: string;
  readonly sizeBytes: number;
  readonly manifestDigest: string;
  readonly manifest: PluginManifest;
  readonly publisher: string;
  readonly publishedAt: string;
  readonly publishedSequence: number;
  /** The digest of the envelope the version was published with; null when published unsigned. */
  readonly signatureEnvelopeDigest: string | null;
  /** When the platform recorded that signature (key validity and revocation are judged against it). */
  readonly signedAt: string | null;
  /** Allow-list entries naming refused addresses that the publisher was allowed; empty for most versions. */
  readonly privateEgress: readonly string[];
}

export type PluginVersionKey = Pick<PluginVersionRow, 'tenant' | 'name' | 'version'>;

export const pluginVersionsProjection: Projection<PluginVersionRow, PluginVersionKey> = {
  name: 'plugin_versions',

  keyOf(event) {
    return event.type === PLUGIN_EVENT_TYPES.versionPublished
      ? { tenant: event.tenant, name: event.data.name, version: event.data.version }
      : null;
  },

  evolve(row, { sequence, event }) {
    // The first publication wins: the registry never publishes one version twice.
    if (row || event.type !== PLUGIN_EVENT_TYPES.versionPublished) return row;
    const { name, version, digest, sizeBytes, manifestDigest, manifest, publisher, signature, privateEgress } = event.data;
    return {
      tenant: event.tenant,
      name,
      version,
      digest,
      sizeBytes,
      manifestDigest,
      manifest,
      publisher,
      publishedAt: isoTime(event.time),
      publishedSequence: sequence,
      signatureEnvelopeDigest: signature?.envelopeDigest ?? null,
      signedAt: signature ? isoTime(signature.signedAt) : null,
      privateEgress: privateEgress ?? [],
    };
  },
};
