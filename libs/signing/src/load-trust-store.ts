import { KEY_AGGREGATE, type CloudEvent } from '@forgeone/contracts';
import { evolveTrustStore, initialTrustStore, type TrustStore } from './trust-store.js';

/**
 * What {@link loadTrustStore} reads: every stored event of one aggregate type, in stream order.
 * `JetStreamEventStore.readAggregate` of `@forgeone/event-store` is one.
 */
export interface AggregateEventReader {
  readAggregate(aggregate: string): Promise<readonly { readonly event: CloudEvent }[]>;
}

/**
 * The trust store of `tenant`, read fresh from the event stream on every call, so a revocation
 * appended a moment ago already applies (read-your-writes). Key events of other tenants are ignored.
 */
export async function loadTrustStore(reader: AggregateEventReader, tenant: string): Promise<TrustStore> {
  const stored = await reader.readAggregate(KEY_AGGREGATE);
  let state = initialTrustStore();
  for (const { event } of stored) {
    if (event.tenant === tenant) state = evolveTrustStore(state, event);
  }
  return state;
}

export { keyAggregateId } from '@forgeone/key-trust-domain';
