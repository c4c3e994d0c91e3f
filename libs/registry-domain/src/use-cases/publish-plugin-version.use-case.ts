import {
  canonicalJson,
  COMMAND_ERRORS,
  describePrivateEgress,
  ForgeOneError,
  privateEgressEntries,
  parseOrThrow,
  PluginManifestSchema,
  refusalOf,
  storageLimitsOverCap,
  type PluginManifest,
  type PrivateEgressEntry,
  type PublishPluginVersionRequest,
  type PublishPluginVersionResult,
  type StoredSignature,
} from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { authorizeCommand } from './authorize-command.js';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandContext, RegistryPorts } from './registry.ports.js';

// Refusals raised here are held to the publish command's catalogue (COMMAND_ERRORS.publish).
const refuse = refusalOf(COMMAND_ERRORS.publish);

/**
 * Publishes a plugin version in the caller's tenant. The manifest is read first (it names the
 * plugin), then policy is asked, and only then are the module and the signature envelope checked
 * (the costly part) and stored.
 *
 * An http allow-list entry that names a refused address (loopback, private, link-local, ...: see
 * REFUSED_ADDRESS_RANGES) needs `publish-private-egress` on the plugin as well; without it the
 * publish is REGISTRY.PRIVATE_EGRESS_REFUSED naming each entry and its range. With it, the event
 * records those entries (`privateEgress`), and the sandbox-runner lets this version reach them.
 *
 * A signature whose envelope is too large or not a DSSE envelope refuses the publish. A well-formed
 * one is stored and verified in audit mode against the tenant's trust store, and the result
 * recorded: an untrusted or failing signature never refuses a publish, because its key may be
 * trusted later and each environment judges it again when the version is installed there. An
 * unsigned publish records no signature event: the version event says it is unsigned, and every
 * environment records SIGNATURE.MISSING when the version is installed there.
 */
export async function publishPluginVersion(
  ports: RegistryPorts,
  request: PublishPluginVersionRequest,
  context: CommandContext,
): Promise<PublishPluginVersionResult> {
  const manifest = parseOrThrow(PluginManifestSchema, request.manifest, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  const overCap = storageLimitsOverCap(manifest.limits, ports.storageQuota);
  if (overCap.length > 0) {
    throw refuse(
      'REGISTRY.MANIFEST_INVALID',
      `forgeone.plugin.json is invalid: ${overCap.map((o) => `${o.field}: ${o.requested} is above this platform's cap of ${o.cap} (${o.variable})`).join('; ')}; ask for at most the cap`,
      { overCap },
    );
  }
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'publish', plugin: manifest.name }, context);
  const privateEgress = privateEgressEntries(manifest.capabilities.http?.allow ?? []);
  if (privateEgress.length > 0) await authorizePrivateEgress(ports, manifest.name, privateEgress, context);
  const wasm = Buffer.from(request.wasm, 'base64');
  const report = validatePluginModule(wasm, { handlers: manifest.handlers, abi: manifest.abi });
  const missing = report.requiredCapabilities.filter((capability) => !grants(manifest, capability));
  if (missing.length > 0) {
    throw refuse(
      'REGISTRY.MANIFEST_INVALID',
      `forgeone.plugin.json is invalid: capabilities: plugin.wasm imports host functions that need ${missing.map((c) => `"${c}"`).join(', ')}, which the manifest does not grant`,
      { missingCapabilities: missing, hostImports: report.hostImports },
    );
  }
  const digest = ports.sha256(wasm);
  const manifestDigest = ports.sha256(new TextEncoder().encode(canonicalJson(manifest)));
  const envelope = request.signature === undefined ? undefined : new TextEncoder().encode(request.signature);
  let signature: StoredSignature | undefined;
  if (envelope) {
    const checked = ports.signatures.checkEnvelope(envelope);
    if (!checked.ok) throw refuse(checked.reason, `plugin.sig.json is refused: ${checked.message}`, { ...checked.details });
    // The platform's clock, not the signer's claim, is what keys are judged against (docs/signing.md).
    signature = { envelopeDigest: ports.sha256(envelope), signedAt: metadata.now.toISOString() };
  }
  const { appended } = await decideAndAppend(
    ports.events,
    plugin,
    {
      type: 'PublishPluginVersion',
      data: {
        name: manifest.name,
        version: manifest.version,
        digest,
        sizeBytes: wasm.byteLength,
        manifestDigest,
        manifest,
        publisher: metadata.actor,
        ...(signature ? { signature } : {}),
        ...(privateEgress.length > 0 ? { privateEgress: privateEgress.map((p) => p.entry) } : {}),
      },
    },
    metadata,
    async () => {
      await store(ports, wasm, digest);
      if (envelope && signature) await store(ports, envelope, signature.envelopeDigest);
    },
  );
  const first = appended[0];
  const verification =
    first && signature
      ? await ports.signatures.verify(
          { plugin, version: manifest.version, digest, manifestDigest, signature, environment: null, stage: 'publish', mode: 'audit', threshold: 1 },
          metadata,
          { record: true },
        )
      : undefined;
  return {
    name: manifest.name,
    version: manifest.version,
    digest,
    sizeBytes: wasm.byteLength,
    // An identical republish appends nothing: answer with the version as it stands.
    eventId: first?.eventId ?? '',
    sequence: first?.sequence ?? 0,
    ...(first ? {} : { unchanged: true }),
    ...(verification && signature ? { signature: { envelopeDigest: signature.envelopeDigest, verified: verification.ok, reason: verification.reason, message: verification.message } } : {}),
  };
}

async function authorizePrivateEgress(ports: RegistryPorts, name: string, entries: readonly PrivateEgressEntry[], context: CommandContext): Promise<void> {
  try {
    await authorizeCommand(ports.authorizer, { action: 'publish-private-egress', plugin: name }, context);
  } catch (error) {
    if (!(error instanceof ForgeOneError) || error.code !== 'AUTHZ.DENIED') throw error;
    const decision = typeof error.details?.decisionId === 'string' ? `; decision ${error.details.decisionId}` : '';
    throw refuse(
      'REGISTRY.PRIVATE_EGRESS_REFUSED',
      `forgeone.plugin.json: capabilities.http.allow names addresses plugins may not reach: ${entries.map(describePrivateEgress).join('; ')}. ` +
        `Only a principal allowed publish-private-egress on ${name} (by default the platform administrator) may publish such entries: remove them, or ask an administrator${decision}`,
      {
        entries: entries.map(({ entry, range }) => ({ entry, range: range.cidr, rangeName: range.name })),
        ...(error.details?.decisionId !== undefined ? { decisionId: error.details.decisionId } : {}),
        ...(error.details?.policyIds !== undefined ? { policyIds: error.details.policyIds } : {}),
      },
    );
  }
}

async function store(ports: RegistryPorts, bytes: Uint8Array, digest: string): Promise<void> {
  const stored = await ports.artifacts.put(bytes);
  if (stored.digest !== digest) {
    throw new ForgeOneError('REGISTRY.ARTIFACT_CORRUPT', `artifact store returned digest ${stored.digest} for bytes hashing to ${digest}`);
  }
}

function grants(manifest: PluginManifest, capability: string): boolean {
  const value = (manifest.capabilities as Record<string, unknown>)[capability];
  return value === true || (typeof value === 'object' && value !== null);
}
