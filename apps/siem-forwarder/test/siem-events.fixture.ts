import { randomUUID } from 'node:crypto';
import type { JetStreamEventStore } from '@forgeone/event-store';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A `rolled_back` event of `tenant`'s plugin with `reason`: the event type whose free text a SIEM must receive intact. */
export function rolledBack(tenant: string, reason: string, id = randomUUID()) {
  return {
    id,
    type: 'io.forgeone.plugin.rolled_back.v1',
    data: { name: 'acme/hello', fromVersion: '2.0.0', version: '1.0.0', digest: DIGEST, environment: 'staging', reason },
    time: new Date().toISOString(),
    actor: 'alice',
    tenant,
  };
}

/** Appends `count` rolled_back events of `tenant` as the registry, `perAppend` at a time; answers their ids in order. */
export async function appendRollbacks(store: JetStreamEventStore, tenant: string, count: number, perAppend = 100, reason = (i: number) => `rollback ${i}`): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += perAppend) {
    const events = Array.from({ length: Math.min(perAppend, count - start) }, (_, k) => rolledBack(tenant, reason(start + k)));
    await store.append('plugin', `${tenant}:acme/hello`, events, { expectedSequence: 'any' });
    ids.push(...events.map((e) => e.id));
  }
  return ids;
}

/** The event id in the structured data of a received RFC 5424 line. */
export function eventIdOf(line: string): string | undefined {
  return /\[forgeone@32473 eventId="([^"]+)"/.exec(line)?.[1];
}
