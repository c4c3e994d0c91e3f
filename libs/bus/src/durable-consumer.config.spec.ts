import { names as makeNames } from '@forgeone/contracts';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { durableConsumerConfig, durableConsumerDrift } from './durable-consumer.config.js';

const names = makeNames('t-cfg');
const base = durableConsumerConfig(names, { durable: 'd' });

describe('durableConsumerConfig', () => {
  it('defaults - every event from the start, explicit acks, 1000 in flight, 30 s ack wait, no delivery limit, no inactivity limit', () => {
    expect(base).toEqual({
      durable_name: 'd',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: names.eventsWildcard,
      max_ack_pending: 1_000,
      ack_wait: 30_000_000_000,
      max_deliver: -1,
      inactive_threshold: 0,
    });
  });

  it('resuming - starts at the given sequence, never below 1', () => {
    expect(durableConsumerConfig(names, { durable: 'd' }, 42)).toMatchObject({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 42 });
    expect(durableConsumerConfig(names, { durable: 'd' }, 0)).toMatchObject({ opt_start_seq: 1 });
  });
});

describe('durableConsumerDrift', () => {
  it('same - the server leaving unset settings out is no drift', () => {
    const { inactive_threshold: _, ...asReported } = base;
    expect(durableConsumerDrift(asReported, base)).toEqual({ kind: 'same' });
  });

  it('update - every updatable setting the server is given is compared, and only the changed ones are sent', () => {
    const wanted = durableConsumerConfig(names, { durable: 'd', filterSubject: 'x.>', maxAckPending: 1, ackWaitMs: 5_000, maxDeliver: 3, inactiveThresholdMs: 60_000 });
    expect(durableConsumerDrift(base, wanted)).toEqual({
      kind: 'update',
      changes: { filter_subject: 'x.>', max_ack_pending: 1, ack_wait: 5_000_000_000, max_deliver: 3, inactive_threshold: 60_000_000_000 },
    });
    expect(durableConsumerDrift({ ...base, inactive_threshold: 60_000_000_000 }, base)).toEqual({ kind: 'update', changes: { inactive_threshold: 0 } });
    expect(durableConsumerDrift(wanted, { ...wanted, max_deliver: 4 })).toEqual({ kind: 'update', changes: { max_deliver: 4 } });
  });

  it('fixed - a different ack or deliver policy cannot be updated and is reported', () => {
    expect(durableConsumerDrift({ ...base, ack_policy: AckPolicy.All }, base)).toEqual({ kind: 'fixed', field: 'ack_policy', existing: AckPolicy.All, wanted: AckPolicy.Explicit });
    expect(durableConsumerDrift({ ...base, deliver_policy: DeliverPolicy.New }, base)).toMatchObject({ kind: 'fixed', field: 'deliver_policy' });
  });
});
