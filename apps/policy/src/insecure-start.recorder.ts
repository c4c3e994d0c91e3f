import { randomUUID } from 'node:crypto';
import { PLATFORM_TENANT, servicePrincipalId } from '@forgeone/authz';
import { NATS_SECURITY_AGGREGATE_ID, PLATFORM_AGGREGATE, PLATFORM_EVENT_TYPES, type NatsInsecureStart } from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import type { ServiceContext } from '@forgeone/service-host';
import type { Logger } from '@forgeone/telemetry';

/**
 * Records a start in insecure mode (FORGEONE_NATS_INSECURE=1 on a NATS that clients without
 * credentials may write to) as `io.forgeone.platform.nats_insecure_start.v1`, so the audit log
 * shows for how long the platform ran exposed. Nothing is recorded on a secure NATS.
 */
export async function recordInsecureStart(store: EventStore, security: ServiceContext['natsSecurity'], logger: Logger): Promise<void> {
  if (!security || security.exposures.length === 0) return;
  const data: NatsInsecureStart = { service: 'policy', servers: [...security.servers], exposures: [...security.exposures] };
  // A record, not a decision: several replicas may each record their own start.
  const [appended] = await store.append(
    PLATFORM_AGGREGATE,
    NATS_SECURITY_AGGREGATE_ID,
    [{ id: randomUUID(), type: PLATFORM_EVENT_TYPES.natsInsecureStart, data, time: new Date().toISOString(), actor: servicePrincipalId('policy'), tenant: PLATFORM_TENANT }],
    { expectedSequence: 'any' },
  );
  logger.info({ sequence: appended.sequence }, 'start on an insecure NATS recorded in the audit log');
}
