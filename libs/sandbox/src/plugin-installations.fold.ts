import {
  PLUGIN_EVENT_TYPES,
  type CloudEvent,
  type PluginEvent,
  type PluginManifest,
  type PluginVersionPublished,
  type StoredSignature,
} from '@forgeone/contracts';

/** A plugin event in its CloudEvents envelope, discriminated on `type`. */
export type PluginCloudEvent = {
  [T in PluginEvent['type']]: CloudEvent<T, Extract<PluginEvent, { type: T }>['data']>;
}[PluginEvent['type']];

const PLUGIN_TYPES: ReadonlySet<string> = new Set(Object.values(PLUGIN_EVENT_TYPES));

/**
 * The envelope as a typed plugin event; undefined when it carries another type. Narrowed by its type
 * alone: the reader verified who wrote it, and every writer checks the data against its type's
 * schema (EVENT_DATA_SCHEMAS) before it signs and appends the event.
 */
export function pluginEventOf(event: CloudEvent): PluginCloudEvent | undefined {
  return PLUGIN_TYPES.has(event.type) ? (event as PluginCloudEvent) : undefined;
}

/** What the sandbox keeps of a published version to run it. */
export interface PublishedVersion {
  readonly digest: string;
  readonly manifestDigest: string;
  readonly manifest: PluginManifest;
  /** The signature recorded at publish; undefined for an unsigned version. */
  readonly signature: StoredSignature | undefined;
  /** Allow-list entries naming refused addresses that the publisher was allowed (`privateEgress`). */
  readonly privateEgress: readonly string[];
}

export function publishedVersionOf(data: PluginVersionPublished['data']): PublishedVersion {
  return {
    digest: data.digest,
    manifestDigest: data.manifestDigest,
    manifest: data.manifest,
    signature: data.signature,
    privateEgress: data.privateEgress ?? [],
  };
}

/** The version an environment of a tenant should run of a plugin, as the events say. */
export interface DesiredInstallation {
  readonly tenant: string;
  readonly environment: string;
  readonly name: string;
  readonly version: string;
  readonly digest: string;
}

/** What one plugin event changes in the installations. */
export type InstallationChange =
  | { readonly kind: 'published'; readonly key: string; readonly version: PublishedVersion }
  | { readonly kind: 'installed'; readonly key: string; readonly installation: DesiredInstallation }
  | { readonly kind: 'removed'; readonly key: string }
  /** An event that changes no installation (a recorded test run). */
  | { readonly kind: 'none' };

/** Key of the installation of a plugin in an environment of a tenant. */
export function installationKey(tenant: string, environment: string, name: string): string {
  return `${tenant}\u0000${environment}\u0000${name}`;
}

/** Key of a published version of a tenant's plugin. */
export function publishedVersionKey(tenant: string, name: string, version: string): string {
  return `${tenant}\u0000${name}\u0000${version}`;
}

/**
 * The change a plugin event makes: a published version to keep, an installation that now runs a
 * version (installed, upgraded and rolled back alike: a rollback is a swap to a lower version), or
 * one removed. Pure: loading and swapping modules is the caller's.
 */
export function installationChangeOf(event: PluginCloudEvent): InstallationChange {
  const { tenant } = event;
  switch (event.type) {
    case PLUGIN_EVENT_TYPES.versionPublished:
      return { kind: 'published', key: publishedVersionKey(tenant, event.data.name, event.data.version), version: publishedVersionOf(event.data) };
    case PLUGIN_EVENT_TYPES.installed:
    case PLUGIN_EVENT_TYPES.upgraded:
    case PLUGIN_EVENT_TYPES.rolledBack: {
      const { environment, name, version, digest } = event.data;
      return { kind: 'installed', key: installationKey(tenant, environment, name), installation: { tenant, environment, name, version, digest } };
    }
    case PLUGIN_EVENT_TYPES.removed:
      return { kind: 'removed', key: installationKey(tenant, event.data.environment, event.data.name) };
    case PLUGIN_EVENT_TYPES.testRunRecorded:
      return { kind: 'none' };
    default: {
      const unknown: never = event;
      throw new Error(`plugin event ${(unknown as CloudEvent).type} has no installation change`);
    }
  }
}

/**
 * Folds one event into the installation at its key (`evolve(row | null, event)`): the version it
 * should run, or null once removed. Events for other keys and published versions leave it as it is.
 */
export function evolveInstallation(row: DesiredInstallation | null, key: string, event: PluginCloudEvent): DesiredInstallation | null {
  const change = installationChangeOf(event);
  if (change.kind === 'published' || change.kind === 'none' || change.key !== key) return row;
  return change.kind === 'installed' ? change.installation : null;
}
