import type { InstallationResult, InstallPluginRequest, RemovePluginRequest, RollbackPluginRequest, UpgradePluginRequest } from '@forgeone/contracts';
import type { PluginCommand } from '../plugin/plugin.commands.js';
import { authorizeCommand } from './authorize-command.js';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandContext, RegistryAction, RegistryPorts } from './registry.ports.js';
import { verifyVersionForEnvironment, type EnvironmentStage } from './verify-signature.js';

/** What an installation change needs: the plugin streams, the authorizer and signature verification. */
export type InstallationPorts = Pick<RegistryPorts, 'plugins' | 'authorizer' | 'signatures' | 'signaturePolicy'>;

/** Installs a published version of a plugin of the caller's tenant into an environment. */
export function installPlugin(ports: InstallationPorts, request: InstallPluginRequest, context: CommandContext) {
  return change(ports, 'install', request, { type: 'InstallPlugin', data: request }, context);
}

/** Moves an installation of a plugin of the caller's tenant to a higher version. */
export function upgradePlugin(ports: InstallationPorts, request: UpgradePluginRequest, context: CommandContext) {
  return change(ports, 'upgrade', request, { type: 'UpgradePlugin', data: request }, context);
}

/**
 * Moves an installation of a plugin of the caller's tenant back to a lower version; its own action
 * in policy, so a role may upgrade without being allowed to go back. The reason is recorded.
 */
export function rollbackPlugin(ports: InstallationPorts, request: RollbackPluginRequest, context: CommandContext) {
  return change(ports, 'rollback', request, { type: 'RollbackPlugin', data: request }, context);
}

/** Removes a plugin of the caller's tenant from an environment. */
export function removePlugin(ports: InstallationPorts, request: RemovePluginRequest, context: CommandContext) {
  return change(ports, 'remove', request, { type: 'RemovePlugin', data: request }, context);
}

// Every action that puts a version into an environment verifies it; removing one does not.
const VERIFIED_STAGES: Partial<Record<RegistryAction, EnvironmentStage>> = { install: 'install', upgrade: 'upgrade', rollback: 'rollback' };

async function change(
  ports: InstallationPorts,
  action: RegistryAction,
  request: { name: string; environment: string },
  command: PluginCommand,
  context: CommandContext,
): Promise<InstallationResult> {
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action, plugin: request.name, environment: request.environment }, context);
  const stage = VERIFIED_STAGES[action];
  // Verified after the decider accepted (a refused command records nothing) and before the append
  // (a strict refusal installs nothing), against the trust store as it stands now.
  const { events, appended } = await decideAndAppend(ports.plugins, plugin, command, metadata, async (decided, state) => {
    if (!stage) return;
    const { version, environment } = decided[0].data as { version: string; environment: string };
    await verifyVersionForEnvironment(ports, plugin, state, { version, environment }, stage, metadata);
  });
  const event = events[0];
  const data = event.data as { name: string; version: string; environment: string; digest?: string };
  return {
    name: data.name,
    version: data.version,
    environment: data.environment,
    ...(data.digest ? { digest: data.digest } : {}),
    eventId: appended[0].eventId,
    sequence: appended[0].sequence,
  };
}
