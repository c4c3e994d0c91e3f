import {
  canonicalJson,
  ForgeOneError,
  parseOrThrow,
  PluginManifestSchema,
  type PluginManifest,
  type PublishPluginVersionRequest,
  type PublishPluginVersionResult,
} from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { authorizeCommand } from './authorize-command.js';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandContext, RegistryPorts } from './registry.ports.js';

/**
 * Publishes a plugin version in the caller's tenant. The manifest is read first (it names the
 * plugin), then policy is asked, and only then is the module validated (the costly part) and stored.
 */
export async function publishPluginVersion(
  ports: RegistryPorts,
  request: PublishPluginVersionRequest,
  context: CommandContext,
): Promise<PublishPluginVersionResult> {
  const manifest = parseOrThrow(PluginManifestSchema, request.manifest, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'publish', plugin: manifest.name }, context);
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
    plugin,
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
