import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli.errors.js';
import { renderReviewStatus, scopeOf } from './review.command.js';

describe('review commands', () => {
  it('scope - --plugins splits and checks names, --all names every plugin, neither names none', () => {
    expect(scopeOf({ plugins: 'acme/a, acme/b' }, 'incident record')).toEqual({ plugins: ['acme/a', 'acme/b'] });
    expect(scopeOf({ all: true }, 'incident record')).toEqual({ all: true });
    expect(scopeOf({}, 'incident record')).toEqual({});
  });

  it('scope - both, an empty list or a bad name are usage errors naming the option', () => {
    expect(() => scopeOf({ all: true, plugins: 'acme/a' }, 'incident record')).toThrow(/--plugins and --all contradict/);
    expect(() => scopeOf({ plugins: ' , ' }, 'incident record')).toThrow(UsageError);
    expect(() => scopeOf({ plugins: 'Acme' }, 'regulation record')).toThrow(UsageError);
  });

  it('plugin show - prints the status per environment with its reasons, or says it was never reviewed', () => {
    const text = renderReviewStatus({
      name: 'acme/a',
      lastReview: null,
      environments: [
        {
          name: 'acme/a',
          environment: 'production',
          version: '1.0.0',
          status: 'overdue',
          dueAt: '2026-03-01T10:00:00.000Z',
          overdueAt: '2026-03-01T10:00:00.000Z',
          installedAt: '2026-01-01T10:00:00.000Z',
          reasons: ['a major incident was recorded on 2026-03-01T10:00:00.000Z by rm-1: leak'],
          lastReview: null,
        },
      ],
    });
    expect(text).toContain('review: never reviewed');
    expect(text).toContain('production: OVERDUE, due 2026-03-01T10:00:00Z');
    expect(text).toContain('- a major incident was recorded');
    expect(renderReviewStatus(null)).toBe('');
  });
});
