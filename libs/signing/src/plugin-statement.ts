import {
  canonicalJson,
  ForgeOneError,
  IN_TOTO_STATEMENT_TYPE,
  MANIFEST_SUBJECT,
  parseOrThrow,
  PLUGIN_PREDICATE_TYPE,
  PluginManifestSchema,
  PluginStatementSchema,
  WASM_SUBJECT,
  type PluginStatement,
} from '@forgeone/contracts';
import { hexOfDigest, sha256Hex } from './dsse.js';

/**
 * The manifest digest a statement names: sha256 of the canonical JSON of the manifest as the
 * registry reads it (defaults applied). It equals `manifestDigest` of `version_published`, so white
 * space or key order in forgeone.plugin.json never breaks a signature. Throws REGISTRY.MANIFEST_INVALID.
 */
export function pluginManifestDigest(manifest: unknown): string {
  const parsed = parseOrThrow(PluginManifestSchema, manifest, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  return `sha256:${sha256Hex(canonicalJson(parsed))}`;
}

export interface BuildPluginStatementInput {
  /** The module bytes, or their digest (`sha256:<hex>` or hex) in `wasmDigest`. */
  readonly wasm?: Uint8Array;
  readonly wasmDigest?: string;
  /** The manifest (validated here); the predicate's name, version and capabilities come from it. */
  readonly manifest: unknown;
  /** Defaults to {@link pluginManifestDigest} of `manifest`. */
  readonly manifestDigest?: string;
  readonly publisher: string;
  /** ISO 8601 time after which the statement no longer verifies. */
  readonly expiresAt?: string;
}

/** Builds the in-toto statement about one plugin version. Throws COMMAND.INVALID or REGISTRY.MANIFEST_INVALID. */
export function buildPluginStatement(input: BuildPluginStatementInput): PluginStatement {
  const manifest = parseOrThrow(PluginManifestSchema, input.manifest, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  if ((input.wasm === undefined) === (input.wasmDigest === undefined)) {
    throw new ForgeOneError('COMMAND.INVALID', 'give exactly one of wasm (the module bytes) or wasmDigest');
  }
  const wasmHex = input.wasm ? sha256Hex(input.wasm) : hexOfDigest(input.wasmDigest!);
  const manifestHex = hexOfDigest(input.manifestDigest ?? pluginManifestDigest(manifest));
  if (!wasmHex || !manifestHex) throw new ForgeOneError('COMMAND.INVALID', 'digests must be sha256:<64 hex digits>');
  return parseOrThrow(
    PluginStatementSchema,
    {
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [
        { name: WASM_SUBJECT, digest: { sha256: wasmHex } },
        { name: MANIFEST_SUBJECT, digest: { sha256: manifestHex } },
      ],
      predicateType: PLUGIN_PREDICATE_TYPE,
      predicate: {
        name: manifest.name,
        version: manifest.version,
        capabilities: manifest.capabilities,
        publisher: input.publisher,
        ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      },
    },
    'COMMAND.INVALID',
    'the plugin statement',
  );
}
