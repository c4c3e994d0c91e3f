import { describe, expect, it } from 'vitest';
import { aggregateOfEventType, aggregateOwner, aggregatesOwnedBy, EVENT_OWNERSHIP, ownershipProblems } from './event-ownership.js';
import { EVENT_DATA_SCHEMAS } from './event-catalog.js';

describe('event ownership', () => {
  it('event ownership - every catalogued event type has exactly one aggregate and one owner', () => {
    expect(ownershipProblems()).toEqual([]);
    for (const type of Object.keys(EVENT_DATA_SCHEMAS)) {
      const aggregate = aggregateOfEventType(type);
      expect(aggregate, type).toBeDefined();
      expect(aggregateOwner(aggregate!), type).toBeDefined();
    }
  });

  it('event ownership - unknown aggregates and types have no owner', () => {
    expect(aggregateOwner('nobody')).toBeUndefined();
    expect(aggregateOwner('toString')).toBeUndefined();
    expect(aggregateOfEventType('io.forgeone.plugin.forged.v1')).toBeUndefined();
  });

  it('event ownership - the gateway owns nothing; the audit-projector owns the audit log checkpoints, the record of its rebuilds and of evidence exports', () => {
    expect(aggregatesOwnedBy('gateway')).toEqual([]);
    expect(aggregatesOwnedBy('audit-projector')).toEqual(['audit-checkpoint', 'projection', 'evidence-export']);
    expect(aggregateOfEventType('io.forgeone.audit.checkpoint_signed.v1')).toBe('audit-checkpoint');
    expect(aggregatesOwnedBy('registry').sort()).toEqual(['approval', 'environment', 'plugin', 'plugin-config', 'review', 'review-notice', 'siem-sink', 'signature', 'watch']);
    // The forwarder connects to addresses configured from outside: it reads tenant sinks, it never writes.
    expect(aggregatesOwnedBy('siem-forwarder')).toEqual([]);
    expect(aggregateOwner('platform')).toBe('policy');
    expect(Object.keys(EVENT_OWNERSHIP).length).toBeGreaterThan(0);
  });
});
