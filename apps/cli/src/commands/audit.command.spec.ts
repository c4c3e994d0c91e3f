import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli.errors.js';
import { parseSince } from './audit.command.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');

describe('parseSince', () => {
  it('turns a span into the time that long before now', () => {
    expect(parseSince('30m', NOW)).toBe('2026-11-27T11:30:00.000Z');
    expect(parseSince('24h', NOW)).toBe('2026-11-26T12:00:00.000Z');
    expect(parseSince('7d', NOW)).toBe('2026-11-20T12:00:00.000Z');
  });

  it('normalises ISO 8601 dates and times to UTC', () => {
    expect(parseSince('2026-11-01', NOW)).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T09:00:00+02:00', NOW)).toBe('2026-11-01T07:00:00.000Z');
  });

  it.each(['yesterday', '12', '2026-13-45', '-1h', ''])('refuses %j', (text) => {
    expect(() => parseSince(text, NOW)).toThrow(UsageError);
  });
});
