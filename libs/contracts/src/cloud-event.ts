import { z } from 'zod';
import { ForgeOneError } from './errors.js';
import { EVENT_DATA_SCHEMAS } from './event-catalog.js';
import { aggregateOfEventType, aggregateOwner } from './event-ownership.js';
import type { ServiceName } from './subjects.js';
import { describeIssues } from './validation.js';

/** Schema version carried in every envelope (`schemaversion` extension). */
export const SCHEMA_VERSION = '1';

/**
 * CloudEvents 1.0 structured JSON envelope with ForgeOne's extensions (docs/bus.md).
 * `actor` is a pseudonymous principal id, never an e-mail or a name.
 */
export const CloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1).max(128),
    source: z.string().min(1).max(256),
    type: z.string().regex(/^io\.forgeone\.[a-z_]+\.[a-z_]+\.v[0-9]+$/, 'must look like io.forgeone.<aggregate>.<event>.v<n>'),
    subject: z.string().min(1).max(512),
    time: z.iso.datetime({ offset: true }),
    datacontenttype: z.literal('application/json'),
    data: z.unknown(),
    actor: z.string().min(1).max(256),
    tenant: z.string().min(1).max(128),
    traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).optional(),
    schemaversion: z.string().min(1),
  })
  .strict();

export type CloudEvent<TType extends string = string, TData = unknown> = Omit<z.infer<typeof CloudEventSchema>, 'type' | 'data'> & {
  readonly type: TType;
  readonly data: TData;
};

/**
 * The CloudEvents `source` of everything a service writes: `/forgeone/<service>`. Every aggregate has
 * one owning writer, so the source of an event follows from its aggregate (see {@link cloudEvent}).
 * Events written before this was derived may carry another spelling (`forgeone/sandbox-runner`):
 * `source` is informational, readers accept any non-empty value and decide nothing by it.
 */
export function eventSource(service: ServiceName): string {
  return `/forgeone/${service}`;
}

/** What a writer supplies for one event; the factory adds the CloudEvents constants, `source` and the schema version. */
export interface CloudEventInput {
  /** Unique event id (also `Nats-Msg-Id`). */
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  /** RFC 3339 time with offset, chosen by the caller. */
  readonly time: string;
  /** Pseudonymous principal id. */
  readonly actor: string;
  readonly tenant: string;
  /** CloudEvents `subject`; defaults to the aggregate id. */
  readonly subject?: string;
}

/**
 * The one envelope factory: wraps an event of aggregate `aggregate` (instance `aggregateId`) in its
 * CloudEvents 1.0 envelope, `source` from the aggregate's owner. The type must be catalogued and
 * belong to the aggregate, and data and envelope must match their schemas; otherwise
 * EVENTSTORE.EVENT_INVALID says what is wrong, so a bad event is refused before anything is written.
 */
export function cloudEvent(aggregate: string, aggregateId: string, input: CloudEventInput, traceparent?: string): CloudEvent {
  const schema = Object.hasOwn(EVENT_DATA_SCHEMAS, input.type) ? EVENT_DATA_SCHEMAS[input.type] : undefined;
  if (!schema) {
    throw new ForgeOneError(
      'EVENTSTORE.EVENT_INVALID',
      `event type "${input.type}" is not in the event catalog; add its data schema to EVENT_DATA_SCHEMAS before writing it`,
      { type: input.type, aggregate, id: aggregateId },
    );
  }
  const home = aggregateOfEventType(input.type);
  const owner = aggregateOwner(aggregate);
  if (home !== aggregate || owner === undefined) {
    throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `event type "${input.type}" belongs to aggregate ${home ?? '(none)'}, not ${aggregate}; readers would refuse it`, {
      type: input.type,
      aggregate,
      id: aggregateId,
    });
  }
  const data = schema.safeParse(input.data);
  if (!data.success) {
    const problems = describeIssues(data.error.issues);
    throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `data of ${input.type} is invalid: ${problems.join('; ')}`, { type: input.type, problems });
  }
  const supplied = SuppliedEnvelopeSchema.safeParse(
    traceparent
      ? { id: input.id, type: input.type, subject: input.subject ?? aggregateId, time: input.time, actor: input.actor, tenant: input.tenant, traceparent }
      : { id: input.id, type: input.type, subject: input.subject ?? aggregateId, time: input.time, actor: input.actor, tenant: input.tenant },
  );
  if (!supplied.success) {
    const problems = describeIssues(supplied.error.issues);
    throw new ForgeOneError('EVENTSTORE.EVENT_INVALID', `envelope of ${input.type} is invalid: ${problems.join('; ')}`, { type: input.type, problems });
  }
  // The object CloudEventSchema would answer: its keys in the schema's order, the values as checked.
  const { id, type, subject, time, actor, tenant } = supplied.data;
  return (
    traceparent
      ? { specversion: '1.0', id, source: eventSource(owner), type, subject, time, datacontenttype: 'application/json', data: data.data, actor, tenant, traceparent, schemaversion: SCHEMA_VERSION }
      : { specversion: '1.0', id, source: eventSource(owner), type, subject, time, datacontenttype: 'application/json', data: data.data, actor, tenant, schemaversion: SCHEMA_VERSION }
  ) as CloudEvent;
}

/**
 * What a writer supplies of an envelope, under the rules of {@link CloudEventSchema}; the factory
 * sets the rest (specversion, source, datacontenttype, schemaversion: constants and the owner's
 * source) and the data is checked by its own schema, so each event is validated once, and an
 * append does not pay for checking constants (~0.3 µs an event).
 */
const SuppliedEnvelopeSchema = CloudEventSchema.pick({ id: true, type: true, subject: true, time: true, actor: true, tenant: true, traceparent: true });
