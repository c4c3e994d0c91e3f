import { describe, expect, it } from 'vitest';
import { installed, versionPublished } from '../testing/plugin-events.fixture.js';
import { checkEvent } from './event.checker.js';

describe('checkEvent', () => {
  it('event checker - a valid event passes, its raw envelope kept as received', () => {
    const event = versionPublished();
    const checked = checkEvent(event);
    expect(checked.ok).toBe(true);
    if (checked.ok) {
      expect(checked.event).toBe(event);
      expect(checked.projectable.data).toEqual(event.data);
    }
  });

  it('event checker - invalid data names the field', () => {
    const event = installed({ id: 'evt-bad' });
    const checked = checkEvent({ ...event, data: { ...event.data, version: 'latest' } });
    expect(checked).toMatchObject({ ok: false, id: 'evt-bad', type: event.type });
    expect(!checked.ok && checked.reason).toMatch(/data\.version: must be a semantic version/);
  });

  it('event checker - an unknown type is refused', () => {
    const checked = checkEvent({ ...installed(), type: 'io.forgeone.plugin.teleported.v1' });
    expect(!checked.ok && checked.reason).toBe('unknown event type "io.forgeone.plugin.teleported.v1"');
  });

  it('event checker - an envelope with a missing or unknown field is refused', () => {
    const { actor: _actor, ...withoutActor } = installed();
    const checked = checkEvent(withoutActor);
    expect(!checked.ok && checked.reason).toMatch(/envelope is invalid: actor/);
    expect(checkEvent({ ...installed(), extra: 1 }).ok).toBe(false);
    expect(checkEvent('not an event').ok).toBe(false);
  });
});
