import type { AuthzClient } from '@forgeone/authz-client';
import { ACTIONS, effectiveStorageQuota, ForgeOneError, type Action, type PluginManifest, type StorageQuotaSettings } from '@forgeone/contracts';
import type { PluginStorage } from '@forgeone/plugin-storage';
import type { HostCallContext, HostHooks } from '@forgeone/sandbox';
import { z } from 'zod';
import { pluginHttpRequest } from './plugin-http.client.js';

/** Who is calling what, for the hooks of one invocation; found through `metadata.invocation`. */
export interface CallChain {
  readonly credential: string | undefined;
  readonly tenant: string;
  readonly environment: string;
  readonly name: string;
  /** The installed version's manifest limits; its storage quota comes from them. */
  readonly limits: PluginManifest['limits'];
  /** The allow-list entries naming refused addresses that this version was allowed at publish. */
  readonly privateEgress: readonly string[];
  /** Where the call came from (the `Forgeone-Source` header), passed on with each hook's authorisation. */
  readonly source?: string;
  /** Policy decisions on `hook:*` for this call, asked once each. */
  readonly decisions: Map<string, Promise<void>>;
  /** Hooks refused during this call (capability missing or policy denial), for the violation event. */
  readonly denials: Array<{ hook: string; code: string; message: string }>;
}

const AuthCheckRequestSchema = z
  .object({
    action: z.enum(ACTIONS),
    resource: z.object({ type: z.enum(['Plugin', 'Environment', 'Tenant']), id: z.string().min(1).max(256) }).strict().optional(),
  })
  .strict();

/**
 * The runner's host hooks. Each hook needs the manifest capability (the sandbox grants the import
 * only then, and it is checked again here) and a policy allow of `hook:<capability>` on this Plugin
 * for the caller, tenant and environment, asked once per call. A refusal answers the guest with -2
 * and is remembered on the call chain, so the invoker records it as a `sandbox_violation`.
 */
export class PluginHostHooks implements HostHooks {
  readonly calls = new Map<string, CallChain>();

  constructor(
    private readonly authz: AuthzClient,
    private readonly storage: PluginStorage,
    private readonly storageQuota: StorageQuotaSettings,
  ) {}

  async kvGet(ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    const chain = await this.guard(ctx, 'storage');
    return this.storage.get(chain, key);
  }

  /** Stores within the plugin's quota in this environment and its tenant's; a refusal answers the guest -6 or -5. */
  async kvSet(ctx: HostCallContext, key: string, value: Uint8Array): Promise<void> {
    const chain = await this.guard(ctx, 'storage');
    await this.storage.set(chain, effectiveStorageQuota(chain.limits, this.storageQuota), key, value);
  }

  async kvDelete(ctx: HostCallContext, key: string): Promise<boolean> {
    const chain = await this.guard(ctx, 'storage');
    return this.storage.delete(chain, key);
  }

  async httpRequest(ctx: HostCallContext, request: unknown): Promise<unknown> {
    const chain = await this.guard(ctx, 'http');
    const allow = ctx.capabilities.http?.allow ?? [];
    try {
      return await pluginHttpRequest(request, { allow, privateEgress: chain.privateEgress });
    } catch (error) {
      if (error instanceof ForgeOneError && error.code === 'SANDBOX.CAPABILITY_DENIED') chain.denials.push({ hook: 'http', code: error.code, message: error.message });
      throw error;
    }
  }

  async authCheck(ctx: HostCallContext, request: unknown): Promise<boolean> {
    const chain = await this.guard(ctx, 'auth');
    const parsed = AuthCheckRequestSchema.safeParse(request);
    if (!parsed.success) throw new ForgeOneError('COMMAND.INVALID', 'auth_check expects {"action": <action>, "resource"?: {"type", "id"}}');
    const resource = parsed.data.resource ?? { type: 'Plugin' as const, id: chain.name };
    try {
      await this.authz.authorize(chain.credential, parsed.data.action as Action, { ...resource, tenant: chain.tenant }, { environment: chain.environment, ...(chain.source ? { source: chain.source } : {}) });
      return true;
    } catch (error) {
      if (error instanceof ForgeOneError && error.code === 'AUTHZ.DENIED') return false;
      throw error;
    }
  }

  private async guard(ctx: HostCallContext, capability: 'storage' | 'http' | 'auth'): Promise<CallChain> {
    const chain = this.calls.get(ctx.metadata.invocation ?? '');
    if (chain === undefined) throw new ForgeOneError('SERVICE.INTERNAL', `host hook ${capability} called outside an invocation`);
    const granted = (ctx.capabilities as Record<string, unknown>)[capability];
    if (granted === undefined || granted === false) {
      const message = `plugin ${chain.name} has no "${capability}" capability in its manifest`;
      chain.denials.push({ hook: capability, code: 'SANDBOX.CAPABILITY_DENIED', message });
      throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', message, { hook: capability });
    }
    await authorizeHook(this.authz, chain, capability);
    return chain;
  }
}

/** Asks policy for `hook:<capability>` once per call chain; a denial is remembered on the chain and rethrown. */
export function authorizeHook(authz: AuthzClient, chain: CallChain, capability: string): Promise<void> {
  const action = `hook:${capability}` as Action;
  let decision = chain.decisions.get(action);
  if (decision === undefined) {
    decision = authz
      .authorize(
        chain.credential,
        action,
        { type: 'Plugin', id: chain.name, tenant: chain.tenant, attributes: { environment: chain.environment } },
        { environment: chain.environment, ...(chain.source ? { source: chain.source } : {}) },
      )
      .then(() => undefined);
    chain.decisions.set(action, decision);
  }
  return decision.catch((error: unknown) => {
    if (error instanceof ForgeOneError && chain.denials.every((d) => d.hook !== capability)) {
      chain.denials.push({ hook: capability, code: error.code, message: error.message });
    }
    throw error;
  });
}
