import { z } from 'zod';

/** Reply to `forgeone.health.<service>`. */
export const HealthReplySchema = z.object({
  service: z.string(),
  ready: z.boolean(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
});
export type HealthReply = z.infer<typeof HealthReplySchema>;
