import { createHash } from 'node:crypto';
import { PLUGIN_EVENT_TYPES, SCHEMA_VERSION, type PluginManifest, type StoredSignature, eventSource } from '@forgeone/contracts';
import type { PluginCloudEvent } from '../projections/projection.types.js';

// Builders of complete, schema-valid CloudEvents for tests; every field can be overridden.

export const TENANT = 'acme';
export const PLUGIN = 'acme/pii-redactor';

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function manifestFor(name: string, version: string): PluginManifest {
  return {
    name,
    version,
    abi: 1,
    description: 'Masks e-mail addresses and card numbers',
    handlers: ['redact'],
    capabilities: { log: true },
    limits: { memoryMiB: 16, fuel: 50_000_000, timeoutMs: 200, maxOutputBytes: 1_048_576 },
    tests: [{ handler: 'redact', input: 'mail bob@x.io', expect: 'mail ***' }],
  };
}

interface EnvelopeOptions {
  readonly id?: string;
  readonly tenant?: string;
  readonly time?: string;
  readonly actor?: string;
  readonly traceparent?: string;
}

let counter = 0;

function envelope<T extends PluginCloudEvent['type']>(type: T, subject: string, options: EnvelopeOptions) {
  counter += 1;
  return {
    specversion: '1.0' as const,
    id: options.id ?? `evt-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 10)}`,
    source: eventSource('registry'),
    type,
    subject,
    time: options.time ?? '2026-03-01T10:00:00.000Z',
    datacontenttype: 'application/json' as const,
    actor: options.actor ?? 'usr_7f3a9c',
    tenant: options.tenant ?? TENANT,
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    schemaversion: SCHEMA_VERSION,
  };
}

export function versionPublished(
  options: EnvelopeOptions & { name?: string; version?: string; publisher?: string; signature?: StoredSignature; allow?: string[]; privateEgress?: string[] } = {},
): Extract<PluginCloudEvent, { type: typeof PLUGIN_EVENT_TYPES.versionPublished }> {
  const name = options.name ?? PLUGIN;
  const version = options.version ?? '1.0.0';
  const base = manifestFor(name, version);
  const manifest = options.allow ? { ...base, capabilities: { ...base.capabilities, http: { allow: options.allow } } } : base;
  return {
    ...envelope(PLUGIN_EVENT_TYPES.versionPublished, name, options),
    data: {
      name,
      version,
      digest: digestOf(`${name}@${version}.wasm`),
      sizeBytes: 1234,
      manifestDigest: digestOf(JSON.stringify(manifest)),
      manifest,
      publisher: options.publisher ?? 'acme',
      ...(options.signature ? { signature: options.signature } : {}),
      ...(options.privateEgress ? { privateEgress: options.privateEgress } : {}),
    },
  };
}

export function installed(
  options: EnvelopeOptions & { name?: string; version?: string; environment?: string } = {},
): Extract<PluginCloudEvent, { type: typeof PLUGIN_EVENT_TYPES.installed }> {
  const name = options.name ?? PLUGIN;
  const version = options.version ?? '1.0.0';
  return {
    ...envelope(PLUGIN_EVENT_TYPES.installed, name, options),
    data: { name, version, digest: digestOf(`${name}@${version}.wasm`), environment: options.environment ?? 'staging' },
  };
}

export function upgraded(
  options: EnvelopeOptions & { name?: string; fromVersion?: string; version: string; environment?: string },
): Extract<PluginCloudEvent, { type: typeof PLUGIN_EVENT_TYPES.upgraded }> {
  const name = options.name ?? PLUGIN;
  return {
    ...envelope(PLUGIN_EVENT_TYPES.upgraded, name, options),
    data: {
      name,
      fromVersion: options.fromVersion ?? '1.0.0',
      version: options.version,
      digest: digestOf(`${name}@${options.version}.wasm`),
      environment: options.environment ?? 'staging',
    },
  };
}

export function rolledBack(
  options: EnvelopeOptions & { name?: string; fromVersion?: string; version: string; environment?: string; reason?: string },
): Extract<PluginCloudEvent, { type: typeof PLUGIN_EVENT_TYPES.rolledBack }> {
  const name = options.name ?? PLUGIN;
  return {
    ...envelope(PLUGIN_EVENT_TYPES.rolledBack, name, options),
    data: {
      name,
      fromVersion: options.fromVersion ?? '2.0.0',
      version: options.version,
      digest: digestOf(`${name}@${options.version}.wasm`),
      environment: options.environment ?? 'staging',
      reason: options.reason ?? '2.0.0 drops requests',
    },
  };
}

export function removed(
  options: EnvelopeOptions & { name?: string; version?: string; environment?: string } = {},
): Extract<PluginCloudEvent, { type: typeof PLUGIN_EVENT_TYPES.removed }> {
  const name = options.name ?? PLUGIN;
  return {
    ...envelope(PLUGIN_EVENT_TYPES.removed, name, options),
    data: { name, version: options.version ?? '1.0.0', environment: options.environment ?? 'staging' },
  };
}
