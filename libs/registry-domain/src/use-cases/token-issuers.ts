import { IDENTITY_EVENT_TYPES, TOKEN_AGGREGATE } from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';

/** For each principal: who issued the tokens they hold (revoked ones too: the relationship stands), from the identity events. */
export async function tokenIssuers(events: EventStore, principals: readonly string[]): Promise<Record<string, string[]>> {
  if (!principals.length) return {};
  const wanted = new Set(principals);
  const out: Record<string, string[]> = {};
  for (const { event } of await events.readAggregate(TOKEN_AGGREGATE)) {
    if (event.type !== IDENTITY_EVENT_TYPES.tokenIssued) continue;
    const data = event.data as { principal: string; issuedBy: string };
    if (wanted.has(data.principal)) out[data.principal] = [...(out[data.principal] ?? []), data.issuedBy];
  }
  return out;
}
