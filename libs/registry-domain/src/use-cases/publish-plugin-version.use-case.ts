import {
  ForgeOneError,
  parseOrThrow,
  PluginManifestSchema,
  type PluginManifest,
  type PublishPluginVersionRequest,
  type PublishPluginVersionResult,
} from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandMetadata, RegistryPorts } from './registry.ports.js';

/** Publishes a plugin version: manifest and module are checked before anything is stored. */
export async function publishPluginVersion(
  ports: RegistryPorts,
  request: PublishPluginVersionRequest,
  metadata: CommandMetadata,
): Promise<PublishPluginVersionResult> {
  const manifest = parseOrThrow(PluginManifestSchema, request.manifest, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  const wasm = Buffer.from(request.wasm, 'base64');
  const report = validatePluginModule(wasm, { handlers: manifest.handlers, abi: manifest.abi });
  const missing = report.requiredCapabilities.filter((capability) => !grants(manifest, capability));
  if (missing.length > 0) {
    throw new ForgeOneError(
      'REGISTRY.MANIFEST_INVALID',
      `forgeone.plugin.json is invalid: capabilities: plugin.wasm imports host functions that need ${missing.map((c) => `"${c}"`).join(', ')}, which the manifest does not grant`,
      { missingCapabilities: missing, hostImports: report.hostImports },
    );
  }
  const digest = ports.sha256(wasm);
  const manifestDigest = ports.sha256(new TextEncoder().encode(canonicalJson(manifest)));
  const { appended } = await decideAndAppend(
    ports.plugins,
    manifest.name,
    {
      type: 'PublishPluginVersion',
      data: { name: manifest.name, version: manifest.version, digest, sizeBytes: wasm.byteLength, manifestDigest, manifest, publisher: metadata.actor },
    },
    metadata,
    async () => {
      const stored = await ports.artifacts.put(wasm);
      if (stored.digest !== digest) {
        throw new ForgeOneError('REGISTRY.ARTIFACT_CORRUPT', `artifact store returned digest ${stored.digest} for bytes hashing to ${digest}`);
      }
    },
  );
  const first = appended[0];
  return {
    name: manifest.name,
    version: manifest.version,
    digest,
    sizeBytes: wasm.byteLength,
    // An identical republish appends nothing: answer with the version as it stands.
    eventId: first?.eventId ?? '',
    sequence: first?.sequence ?? 0,
    ...(first ? {} : { unchanged: true }),
  };
}

function grants(manifest: PluginManifest, capability: string): boolean {
  const value = (manifest.capabilities as Record<string, unknown>)[capability];
  return value === true || (typeof value === 'object' && value !== null);
}

/** JSON with object keys sorted at every depth: one byte sequence per manifest, for its digest. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
