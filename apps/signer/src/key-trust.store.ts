import { ForgeOneError, KEY_AGGREGATE, type KeyEvent } from '@forgeone/contracts';
import type { JetStreamEventStore } from '@forgeone/event-store';
import { decideKeyCommand, keyAggregateId, loadTrustStore, trustStoreOf, type KeyCommand, type TrustedKey, type TrustStore } from '@forgeone/signing';

const SOURCE = '/forgeone/signer';
const MAX_ATTEMPTS = 5;

export interface KeyCommandMetadata {
  readonly tenant: string;
  readonly actor: string;
  readonly now: Date;
  readonly newId: () => string;
}

export interface DecidedKeyCommand {
  readonly key: TrustedKey;
  readonly eventId: string;
  readonly sequence: number;
}

/**
 * The tenants' trust stores on the event stream: one `key` aggregate per key of a tenant. Commands
 * are decided on the key's fresh state and appended with optimistic concurrency; of two racing
 * commands on one key, the loser is decided again on the winner's state.
 */
export class KeyTrustStore {
  constructor(private readonly events: JetStreamEventStore) {}

  /** The tenant's whole store, read fresh (a revocation appended a moment ago applies). */
  load(tenant: string): Promise<TrustStore> {
    return loadTrustStore(this.events, tenant);
  }

  async execute(command: KeyCommand, metadata: KeyCommandMetadata): Promise<DecidedKeyCommand> {
    const id = keyAggregateId(metadata.tenant, command.data.keyId);
    for (let attempt = 1; ; attempt++) {
      const { events: stored, version } = await this.events.readVersioned(KEY_AGGREGATE, id);
      const current = trustStoreOf(stored.map((s) => s.event)).keys.get(command.data.keyId);
      const decided: KeyEvent[] = decideKeyCommand(command, current);
      const eventId = metadata.newId();
      try {
        const [appended] = await this.events.append(
          KEY_AGGREGATE,
          id,
          decided.map((event) => ({
            id: eventId,
            type: event.type,
            data: event.data,
            time: metadata.now.toISOString(),
            actor: metadata.actor,
            tenant: metadata.tenant,
            source: SOURCE,
            subject: command.data.keyId,
          })),
          { expectedSequence: version },
        );
        const after = trustStoreOf([...stored.map((s) => s.event), appended.event]).keys.get(command.data.keyId)!;
        return { key: after, eventId, sequence: appended.sequence };
      } catch (error) {
        if (error instanceof ForgeOneError && error.code === 'EVENTSTORE.CONFLICT' && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }
}
