import {
  ForgeOneError,
  type DryRunCheckName,
  type InstallationDryRunResult,
  type InstallationResult,
  type InstallPluginRequest,
  type RemovePluginRequest,
  type RollbackPluginRequest,
  type UpgradePluginRequest,
} from '@forgeone/contracts';
import type { PluginCommand } from '../plugin/plugin.commands.js';
import { authorizeCommand } from './authorize-command.js';
import { assertReviewedBeforeUpgrade } from './review.use-cases.js';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandContext, RegistryAction, RegistryPorts } from './registry.ports.js';
import { effectiveEnvironmentSettings } from './environment.use-cases.js';
import { verifyVersionForEnvironment, type EnvironmentStage, type SignatureVerdict } from './verify-signature.js';

/** What an installation change needs: the event stream, the authorizer and signature verification. */
export type InstallationPorts = Pick<RegistryPorts, 'events' | 'authorizer' | 'signatures' | 'signaturePolicy' | 'reviewSettings'>;

/** What install, upgrade and rollback answer: the appended change, or with `dryRun` what it would be. */
export type InstallationOutcome = InstallationResult | InstallationDryRunResult;

/**
 * Installs a published version of a plugin of the caller's tenant into an environment. With
 * `dryRun`, every check runs and nothing is appended (see {@link InstallationDryRunResult}).
 */
export function installPlugin(ports: InstallationPorts, request: InstallPluginRequest, context: CommandContext): Promise<InstallationOutcome> {
  const { dryRun, ...data } = request;
  return change(ports, 'install', request, { type: 'InstallPlugin', data }, context, dryRun === true);
}

/** Moves an installation of a plugin of the caller's tenant to a higher version; `dryRun` as for install. */
export function upgradePlugin(ports: InstallationPorts, request: UpgradePluginRequest, context: CommandContext): Promise<InstallationOutcome> {
  const { dryRun, ...data } = request;
  return change(ports, 'upgrade', request, { type: 'UpgradePlugin', data }, context, dryRun === true);
}

/**
 * Moves an installation of a plugin of the caller's tenant back to a lower version; its own action
 * in policy, so a role may upgrade without being allowed to go back. The reason is recorded.
 * `dryRun` as for install.
 */
export function rollbackPlugin(ports: InstallationPorts, request: RollbackPluginRequest, context: CommandContext): Promise<InstallationOutcome> {
  const { dryRun, ...data } = request;
  return change(ports, 'rollback', request, { type: 'RollbackPlugin', data }, context, dryRun === true);
}

/** Removes a plugin of the caller's tenant from an environment. */
export async function removePlugin(ports: InstallationPorts, request: RemovePluginRequest, context: CommandContext): Promise<InstallationResult> {
  return (await change(ports, 'remove', request, { type: 'RemovePlugin', data: request }, context, false)) as InstallationResult;
}

// Every action that puts a version into an environment verifies it; removing one does not.
const VERIFIED_STAGES: Partial<Record<RegistryAction, EnvironmentStage>> = { install: 'install', upgrade: 'upgrade', rollback: 'rollback' };

// A dry run is the command itself stopped before the append, so its checks cannot drift from the command's.
async function change(
  ports: InstallationPorts,
  action: RegistryAction,
  request: { name: string; environment: string },
  command: PluginCommand,
  context: CommandContext,
  dryRun: boolean,
): Promise<InstallationOutcome> {
  let failedCheck: DryRunCheckName = 'authorisation';
  try {
    // An emergency change into a gated environment is its own policy action, asked instead of install or upgrade.
    const emergency = (command.type === 'InstallPlugin' || command.type === 'UpgradePlugin') && command.data.emergency !== undefined;
    const { plugin, metadata } = await authorizeCommand(
      ports.authorizer,
      { action: emergency ? 'emergency-change' : action, plugin: request.name, environment: request.environment },
      context,
    );
    failedCheck = 'decision';
    if (command.type === 'InstallPlugin' || command.type === 'UpgradePlugin') {
      // Read fresh, like the signature mode: ungating or gating an environment applies to the next command.
      const { gated } = await effectiveEnvironmentSettings(ports, plugin.tenant, request.environment);
      if (emergency && !gated) {
        throw new ForgeOneError('COMMAND.INVALID', `${request.environment} is not gated, so there is nothing for --emergency to go around; ${action} without it`, {
          environment: request.environment,
          field: 'emergency',
        });
      }
      command = { ...command, data: { ...command.data, gated } } as PluginCommand;
    }
    if (action === 'upgrade') await assertReviewedBeforeUpgrade(ports, plugin.tenant, plugin.name, request.environment, context.now);
    const stage = VERIFIED_STAGES[action];
    let signature: SignatureVerdict | undefined;
    // Verified after the decider accepted (a refused command records nothing) and before the append
    // (a strict refusal installs nothing), against the trust store as it stands now.
    const { events, appended } = await decideAndAppend(
      ports.events,
      plugin,
      command,
      metadata,
      async (decided, state) => {
        if (!stage) return;
        const { version, environment } = decided[0].data as { version: string; environment: string };
        failedCheck = 'signature';
        signature = await verifyVersionForEnvironment(ports, plugin, state, { version, environment }, stage, metadata, { dryRun });
      },
      { dryRun },
    );
    const event = events[0];
    const data = event.data as { name: string; version: string; environment: string; digest?: string };
    const installation = { name: data.name, version: data.version, environment: data.environment, ...(data.digest ? { digest: data.digest } : {}) };
    if (!dryRun) return { ...installation, eventId: appended[0].eventId, sequence: appended[0].sequence };
    // Only install, upgrade and rollback take the flag, and each of them verified above.
    if (!signature) throw new Error(`a dry run of ${action} verified no signature`);
    return {
      dryRun: true,
      wouldSucceed: true,
      ...installation,
      checks: [
        { check: 'authorisation', ok: true, message: `${metadata.actor} may ${action} ${plugin.name} in ${request.environment}` },
        { check: 'decision', ok: true, message: describe(events) },
        {
          check: 'signature',
          ok: true,
          message: signature.ok
            ? `verifies in ${signature.mode} mode (threshold ${signature.threshold}): ${signature.message}`
            : `${signature.reason}, accepted and flagged in audit mode: ${signature.message}`,
        },
      ],
      events: events.map((e) => ({ type: e.type, data: { ...e.data } })),
      signature,
    };
  } catch (error) {
    // The same code and message the command would answer, marked so a caller knows nothing changed.
    if (dryRun && error instanceof ForgeOneError) throw new ForgeOneError(error.code, error.message, { ...error.details, dryRun: true, failedCheck });
    throw error;
  }
}

function describe(events: readonly { type: string; data: unknown }[]): string {
  return `would append ${events.map((e) => {
    const data = e.data as { version?: string; fromVersion?: string; environment?: string };
    return `${e.type} (${data.fromVersion ? `${data.fromVersion} → ` : ''}${data.version ?? ''} in ${data.environment ?? ''})`;
  }).join(', ')}`;
}
