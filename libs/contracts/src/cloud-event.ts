import { z } from 'zod';

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
