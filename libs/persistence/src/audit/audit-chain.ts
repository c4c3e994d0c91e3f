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

// Event families whose data names the plugin in `name`: plugin lifecycle and signature verification results.
const PLUGIN_TYPE_PREFIXES = ['io.forgeone.plugin.', 'io.forgeone.signature.'];

/** The plugin an audited event concerns, so history can be queried per plugin whatever the subject looks like. */
export function pluginOf(event: CloudEvent): string | null {
  if (!PLUGIN_TYPE_PREFIXES.some((prefix) => event.type.startsWith(prefix))) return null;
  const name = (event.data as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : null;
}
