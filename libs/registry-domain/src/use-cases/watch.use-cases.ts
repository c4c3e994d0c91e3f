import { WATCH_AGGREGATE, WATCH_EVENT_TYPES, tenantAggregateId, type DropRejectedReply, type ReportDropRejectedRequest } from '@forgeone/contracts';
import type { CommandContext, RegistryPorts } from './registry.ports.js';

export type WatchPorts = Pick<RegistryPorts, 'events' | 'authorizer'>;

/**
 * `watch.drop-rejected`: the plugins/ directory watcher refused a drop and the registry records it,
 * since the watcher is a client and writes no events itself. Needs report-drop-rejected on the
 * environment watched into. A record guarding no invariant: appended without an expected sequence.
 */
export async function reportDropRejected(ports: WatchPorts, request: ReportDropRejectedRequest, context: CommandContext): Promise<DropRejectedReply> {
  const principal = await ports.authorizer.authorizeEnvironment({
    credential: context.credential,
    action: 'report-drop-rejected',
    environment: request.environment,
    ...(context.source ? { source: context.source } : {}),
  });
  const eventId = context.newId();
  const [appended] = await ports.events.append(
    WATCH_AGGREGATE,
    tenantAggregateId(principal.tenant, request.environment),
    [
      {
        id: eventId,
        type: WATCH_EVENT_TYPES.dropRejected,
        data: request,
        time: context.now.toISOString(),
        actor: principal.id,
        tenant: principal.tenant,
        subject: request.environment,
      },
    ],
    { expectedSequence: 'any' },
  );
  return { environment: request.environment, folder: request.folder, eventId, sequence: appended!.sequence };
}
