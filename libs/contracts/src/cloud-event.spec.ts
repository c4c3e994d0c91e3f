import { describe, expect, it } from 'vitest';
import { CloudEventSchema, cloudEvent, eventSource } from './cloud-event.js';
import { EVENT_OWNERSHIP } from './event-ownership.js';
import { INVOCATION_AGGREGATE, INVOCATION_EVENT_TYPES } from './invocation.js';
import { PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES } from './plugin.events.js';

const installed = {
  id: 'evt-1',
  type: PLUGIN_EVENT_TYPES.installed,
  data: { name: 'acme/hello', version: '1.0.0', digest: `sha256:${'a'.repeat(64)}`, environment: 'staging' },
  time: '2026-12-01T10:00:00.000Z',
  actor: 'alice',
  tenant: 'acme',
};

const failed = {
  ...installed,
  type: INVOCATION_EVENT_TYPES.invocationFailed,
  data: { plugin: 'acme/hello', handler: 'greet', environment: 'staging', tenant: 'acme', principal: 'alice', code: 'SANDBOX.TRAP', message: 'trap' },
};

describe('cloud event - the envelope factory', () => {
  it('wraps an event with the CloudEvents constants, the owner as source and the schema version', () => {
    expect(cloudEvent(PLUGIN_AGGREGATE, 'acme:acme/hello', { ...installed, subject: 'acme/hello' }, `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`)).toEqual({
      specversion: '1.0',
      id: 'evt-1',
      source: '/forgeone/registry',
      type: PLUGIN_EVENT_TYPES.installed,
      subject: 'acme/hello',
      time: '2026-12-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: installed.data,
      actor: 'alice',
      tenant: 'acme',
      traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
      schemaversion: '1',
    });
    expect(cloudEvent(PLUGIN_AGGREGATE, 'acme:acme/hello', installed).subject).toBe('acme:acme/hello');
  });

  it('answers what the envelope schema answers for it, keys in the same order, for every owner with and without a traceparent', () => {
    const typeOf = Object.fromEntries(Object.entries(EVENT_OWNERSHIP).map(([aggregate, { types }]) => [aggregate, types[0]]));
    for (const [aggregate, type] of Object.entries(typeOf)) {
      for (const traceparent of [undefined, `00-${'3'.repeat(32)}-${'4'.repeat(16)}-00`]) {
        // Only the envelope matters here: data the factory has validated stands in for every type's.
        const envelope = { ...cloudEvent(PLUGIN_AGGREGATE, 'acme:acme/hello', installed, traceparent), type, source: eventSource(EVENT_OWNERSHIP[aggregate as keyof typeof EVENT_OWNERSHIP].owner) };
        const parsed = CloudEventSchema.parse(envelope);
        expect(parsed, aggregate).toEqual(envelope);
        expect(JSON.stringify(parsed)).toBe(JSON.stringify(envelope));
      }
    }
    const written = cloudEvent(INVOCATION_AGGREGATE, 'acme', failed, `00-${'5'.repeat(32)}-${'6'.repeat(16)}-01`);
    expect(JSON.stringify(CloudEventSchema.parse(written))).toBe(JSON.stringify(written));
  });

  it('refuses a bad traceparent, id, actor or tenant by the envelope schema rules', () => {
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', installed, 'not-a-traceparent')).toThrow(/envelope of .* is invalid: traceparent/);
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', { ...installed, id: '' })).toThrow(/envelope of .* is invalid: id/);
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', { ...installed, actor: 'a'.repeat(257) })).toThrow(/envelope of .* is invalid: actor/);
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', { ...installed, tenant: '' })).toThrow(/envelope of .* is invalid: tenant/);
  });

  it('gives every aggregate the source of its one owner, spelled one way', () => {
    for (const [aggregate, { owner }] of Object.entries(EVENT_OWNERSHIP)) expect(eventSource(owner), aggregate).toBe(`/forgeone/${owner}`);
    expect(cloudEvent(INVOCATION_AGGREGATE, 'acme', failed).source).toBe('/forgeone/sandbox-runner');
  });

  it('refuses, saying what is wrong: an uncatalogued type, a type of another aggregate, bad data, a bad envelope', () => {
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', { ...installed, type: 'io.forgeone.plugin.exploded.v1' })).toThrow(/not in the event catalog/);
    expect(() => cloudEvent(INVOCATION_AGGREGATE, 'x', installed)).toThrow(/belongs to aggregate plugin, not invocation/);
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', { ...installed, data: { name: 'acme/hello' } })).toThrow(/data of io.forgeone.plugin.installed.v1 is invalid/);
    expect(() => cloudEvent(PLUGIN_AGGREGATE, 'x', { ...installed, time: 'yesterday' })).toThrow(expect.objectContaining({ code: 'EVENTSTORE.EVENT_INVALID', message: expect.stringMatching(/envelope of .* is invalid: time/) }));
  });

  it('readers stay tolerant: an event written with an older source spelling still parses', () => {
    const current = cloudEvent(INVOCATION_AGGREGATE, 'acme', failed);
    expect(CloudEventSchema.safeParse({ ...current, source: 'forgeone/sandbox-runner' }).success).toBe(true);
  });
});
