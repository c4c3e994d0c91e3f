import { refusalOf, type CommandErrorCode, type InstallationDryRunResult, type SignatureStage } from '@forgeone/contracts';
import type { PluginKey } from '../plugin/plugin.identity.js';
import type { PluginState } from '../plugin/plugin.state.js';
import { effectiveEnvironmentSettings } from './environment.use-cases.js';
import type { CommandMetadata, RegistryPorts } from './registry.ports.js';

/** Stages at which an environment receives a version; `promote` joins once promotion exists. */
export type EnvironmentStage = Extract<SignatureStage, 'install' | 'upgrade' | 'rollback' | 'promote'>;

/** How a version's signature verified for an environment: what a dry run reports. */
export type SignatureVerdict = InstallationDryRunResult['signature'];

/**
 * Verifies the signature of the version an environment is about to receive, in the environment's
 * mode and threshold as the environment's settings stand now (the `environment` aggregate, or the
 * first-start defaults of FORGEONE_SIGNATURE_POLICY while it was never set): the result is recorded unless `options.dryRun`; in strict mode
 * a failure refuses the command with the reason as error code, in audit mode the command goes ahead,
 * flagged. There is no mode that skips verification, and a dry run is refused exactly as the command
 * would be. A promote command must call this for its target environment before it appends, as
 * install, upgrade and rollback do.
 */
export async function verifyVersionForEnvironment(
  ports: Pick<RegistryPorts, 'signatures' | 'signaturePolicy' | 'events'>,
  plugin: PluginKey,
  state: PluginState,
  target: { readonly version: string; readonly environment: string },
  stage: EnvironmentStage,
  metadata: CommandMetadata,
  options: { readonly dryRun?: boolean } = {},
): Promise<SignatureVerdict> {
  const version = state.versions[target.version];
  // The decider has accepted the command, so the version exists; guard anyway rather than verify nothing.
  if (!version) throw refuse('REGISTRY.VERSION_NOT_FOUND', `${plugin.name}@${target.version} does not exist`, { name: plugin.name, version: target.version });
  const { mode, threshold } = await effectiveEnvironmentSettings(ports, plugin.tenant, target.environment);
  const outcome = await ports.signatures.verify(
    {
      plugin,
      version: target.version,
      digest: version.digest,
      manifestDigest: version.manifestDigest,
      signature: version.signature,
      environment: target.environment,
      stage,
      mode,
      threshold,
    },
    metadata,
    { record: !options.dryRun },
  );
  if (!outcome.ok && mode === 'strict') {
    throw refuse(outcome.reason, `${plugin.name}@${target.version} cannot be ${PAST[stage]} in ${target.environment}, where signatures are strict: ${outcome.message}`, {
      ...outcome.details,
      name: plugin.name,
      version: target.version,
      environment: target.environment,
      mode,
      threshold,
    });
  }
  return { stage, mode, threshold, ok: outcome.ok, reason: outcome.reason, flagged: !outcome.ok && mode === 'audit', message: outcome.message };
}

// A strict refusal answers the reason as its code: every reason is in the catalogue of each command
// that puts a version into an environment, so TypeScript holds this to all three.
const refuse = refusalOf<readonly (CommandErrorCode<'install'> & CommandErrorCode<'upgrade'> & CommandErrorCode<'rollback'>)[]>([]);

const PAST: Record<EnvironmentStage, string> = { install: 'installed', upgrade: 'upgraded to', rollback: 'rolled back to', promote: 'promoted' };
