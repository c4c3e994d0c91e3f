import type { PluginKey } from '../plugin/plugin.identity.js';
import type { AuthorizationRequest, Authorizer, CommandContext, CommandMetadata } from './registry.ports.js';

export interface AuthorizedCommand {
  /** The plugin the command acts on: the requested name in the principal's tenant. */
  readonly plugin: PluginKey;
  /** Recorded on every event the command appends. */
  readonly metadata: CommandMetadata;
}

/**
 * Asks the authorizer before anything is decided or stored. The tenant comes from the
 * authenticated principal, never from the request, so a caller cannot reach another tenant's plugins.
 */
export async function authorizeCommand(
  authorizer: Authorizer,
  request: Omit<AuthorizationRequest, 'credential' | 'source'>,
  context: CommandContext,
): Promise<AuthorizedCommand> {
  const principal = await authorizer.authorize({ ...request, credential: context.credential, ...(context.source ? { source: context.source } : {}) });
  return {
    plugin: { tenant: principal.tenant, name: request.plugin },
    metadata: { actor: principal.id, tenant: principal.tenant, now: context.now, newId: context.newId },
  };
}
