import { createHash } from 'node:crypto';
import type { CloudEvent } from '@forgeone/contracts';
import { canonicalJson } from '@forgeone/contracts';

/** `prev_hash` of the first audit row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The chained hash of one audit row: hex sha256 over the previous row's hash (hex) followed by the
 * canonical JSON of `{ sequence, event }`. `event` is the CloudEvent exactly as it was stored in the
 * stream, so a row can be checked against JetStream and a rebuild yields the same chain.
 */
export function auditHash(prevHash: string, sequence: number, event: CloudEvent): string {
  return createHash('sha256').update(prevHash).update(canonicalJson({ sequence, event })).digest('hex');
}

const PLUGIN_TYPE_PREFIX = 'io.forgeone.plugin.';

/** The plugin an audited event concerns, so history can be queried per plugin whatever the subject looks like. */
export function pluginOf(event: CloudEvent): string | null {
  if (!event.type.startsWith(PLUGIN_TYPE_PREFIX)) return null;
  const name = (event.data as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : null;
}
