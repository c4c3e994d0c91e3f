import { KEY_AGGREGATE } from '@forgeone/contracts';
import { handleCommand, type EventOrigin, type EventStore } from '@forgeone/event-sourcing';
import { keyAggregateId, keyDecider, type KeyCommand, type TrustedKey, type TrustStore } from '@forgeone/key-trust-domain';
import { loadTrustStore } from '@forgeone/signing';

export type KeyCommandMetadata = EventOrigin;

export interface DecidedKeyCommand {
  readonly key: TrustedKey;
  readonly eventId: string;
  readonly sequence: number;
}

/**
 * The tenants' trust stores on the event stream: one `key` aggregate per key of a tenant, decided by
 * the key decider through the shared command handler (of two racing commands on one key, the loser
 * is decided again on the winner's state).
 */
export class KeyTrustStore {
  constructor(private readonly events: EventStore) {}

  /** The tenant's whole store, read fresh (a revocation appended a moment ago applies). */
  load(tenant: string): Promise<TrustStore> {
    return loadTrustStore(this.events, tenant);
  }

  async execute(command: KeyCommand, metadata: KeyCommandMetadata): Promise<DecidedKeyCommand> {
    const { keyId } = command.data;
    const { appended, next } = await handleCommand(
      this.events,
      keyDecider,
      { aggregate: KEY_AGGREGATE, id: keyAggregateId(metadata.tenant, keyId), subject: keyId },
      command,
      metadata,
    );
    // The decider answers every key command with exactly one event or a refusal.
    const [event] = appended;
    return { key: next.keys.get(keyId)!, eventId: event.event.id, sequence: event.sequence };
  }
}
