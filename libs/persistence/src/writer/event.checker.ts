import { CloudEventSchema, describeIssues, EVENT_DATA_SCHEMAS, isKnownEventType, type CloudEvent } from '@forgeone/contracts';
import type { ProjectableEvent } from '../projections/projection.types.js';

export type CheckedEvent =
  | {
      readonly ok: true;
      /** The envelope exactly as received: what the audit log stores and hashes. */
      readonly event: CloudEvent;
      /** The same event with its data as parsed by the schema: what projections fold. */
      readonly projectable: ProjectableEvent;
    }
  | { readonly ok: false; readonly reason: string; readonly id?: string; readonly type?: string };

/** Validates the envelope and the data of a stream message against the contracts. Pure. */
export function checkEvent(message: unknown): CheckedEvent {
  const envelope = CloudEventSchema.safeParse(message);
  if (!envelope.success) {
    const { id, type } = (typeof message === 'object' && message !== null ? message : {}) as { id?: unknown; type?: unknown };
    return {
      ok: false,
      reason: `the CloudEvents envelope is invalid: ${describeIssues(envelope.error.issues).join('; ')}`,
      ...(typeof id === 'string' ? { id } : {}),
      ...(typeof type === 'string' ? { type } : {}),
    };
  }
  const event = message as CloudEvent;
  if (!isKnownEventType(event.type)) {
    return { ok: false, reason: `unknown event type "${event.type}"`, id: event.id, type: event.type };
  }
  const data = EVENT_DATA_SCHEMAS[event.type].safeParse(event.data);
  if (!data.success) {
    const problems = describeIssues(data.error.issues).map((p) => `data.${p}`);
    return { ok: false, reason: `the event data is invalid: ${problems.join('; ')}`, id: event.id, type: event.type };
  }
  // Known types that no projection folds still pass through; each projection ignores types it does not handle.
  return { ok: true, event, projectable: { ...event, data: data.data } as ProjectableEvent };
}
