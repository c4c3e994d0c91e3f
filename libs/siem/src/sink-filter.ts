import type { CloudEvent } from '@forgeone/contracts';
import { severityOf, severityRank, type SiemSeverity } from './severity.js';

/** Which events a sink receives. */
export interface SinkFilter {
  /** Only events of this tenant (a tenant's own sink); absent for a platform sink, which receives every tenant's. */
  readonly tenant?: string;
  /** Event types it receives (`*` at the end matches a prefix); empty or absent: every type. */
  readonly types?: readonly string[];
  /** The lowest severity it receives; absent: every severity. */
  readonly minSeverity?: SiemSeverity;
  /** Types every platform sink receives whatever its filter (the signed audit checkpoints, a copy kept outside the platform). */
  readonly always?: readonly string[];
}

export const AUDIT_CHECKPOINT_TYPE = 'io.forgeone.audit.checkpoint_signed.v1';

/** True when `filter` lets `event` through. A tenant sink never sees another tenant's events, whatever else it asks for. */
export function sinkAccepts(filter: SinkFilter, event: Pick<CloudEvent, 'type' | 'data' | 'tenant'>): boolean {
  if (filter.tenant !== undefined) {
    if (event.tenant !== filter.tenant) return false;
  } else if (filter.always?.includes(event.type)) {
    return true;
  }
  if (filter.types && filter.types.length > 0 && !filter.types.some((pattern) => typeMatches(pattern, event.type))) return false;
  if (filter.minSeverity && severityRank(severityOf(event)) < severityRank(filter.minSeverity)) return false;
  return true;
}

function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}
