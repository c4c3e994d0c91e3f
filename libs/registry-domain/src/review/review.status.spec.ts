import { describe, expect, it } from 'vitest';
import { reviewStatus, type ReviewFact, type ReviewStatusInput, type ReviewTrigger } from './review.status.js';

const DAY = 86_400_000;
const INTERVALS = { intervalMs: 90 * DAY, graceMs: 14 * DAY };
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (days: number) => new Date(T0 + days * DAY).toISOString();

/** Given a plugin installed at day 0 with these reviews and triggers, when asked on day N, then this status. */
function given(facts: { reviews?: ReviewFact[]; triggers?: ReviewTrigger[]; installedDay?: number } = {}) {
  const input: ReviewStatusInput = { installedAt: at(facts.installedDay ?? 0), reviews: facts.reviews ?? [], triggers: facts.triggers ?? [] };
  return { onDay: (day: number) => reviewStatus(input, new Date(T0 + day * DAY), INTERVALS) };
}
const approved = (day: number, by = 'rev-1'): ReviewFact => ({ at: at(day), outcome: 'approved', by, notes: 'fine' });
const changes = (day: number): ReviewFact => ({ at: at(day), outcome: 'changes-required', by: 'rev-1', notes: 'tighten the http grant' });
const incident = (day: number): ReviewTrigger => ({ kind: 'incident', at: at(day), by: 'rm-1', text: 'leak through logs' });
const regulation = (day: number): ReviewTrigger => ({ kind: 'regulation', at: at(day), by: 'rm-1', text: 'new retention rule' });
const emergency = (day: number): ReviewTrigger => ({ kind: 'emergency', at: at(day), by: 'rm-1', text: '1.0.1: hotfix' });

describe('review status - the interval', () => {
  it('a plugin installed and never reviewed is ok before the interval', () => {
    expect(given().onDay(89)).toEqual({ status: 'ok', dueAt: at(90), overdueAt: at(104), reasons: [] });
  });
  it('is due once the interval has passed since its installation, naming why', () => {
    const status = given().onDay(90);
    expect(status.status).toBe('due');
    expect(status.reasons).toEqual([`the review interval (90d) has passed since its installation on ${at(0)} with no approved review since`]);
  });
  it('is overdue once the grace period has passed after it fell due', () => {
    expect(given().onDay(104).status).toBe('overdue');
  });
  it('an approved review starts the interval again', () => {
    expect(given({ reviews: [approved(80)] }).onDay(150)).toMatchObject({ status: 'ok', dueAt: at(170) });
    expect(given({ reviews: [approved(80)] }).onDay(171).reasons[0]).toContain(`since its last approved review on ${at(80)}`);
  });
  it('an approval from before the current installation does not count', () => {
    expect(given({ reviews: [approved(5)], installedDay: 10 }).onDay(99)).toMatchObject({ status: 'ok', dueAt: at(100) });
  });
});

describe('review status - triggers', () => {
  it('a major incident naming the plugin makes it overdue at once', () => {
    const status = given({ triggers: [incident(10)] }).onDay(10);
    expect(status).toMatchObject({ status: 'overdue', dueAt: at(10), overdueAt: at(10) });
    expect(status.reasons).toEqual([`a major incident was recorded on ${at(10)} by rm-1: leak through logs`]);
  });
  it('a regulation change makes it overdue at once', () => {
    expect(given({ triggers: [regulation(3)] }).onDay(3).status).toBe('overdue');
  });
  it('an emergency change makes it overdue at once', () => {
    expect(given({ triggers: [emergency(0)] }).onDay(0).reasons[0]).toContain('an emergency change was made');
  });
  it('an approved review after the trigger clears it', () => {
    expect(given({ triggers: [incident(10)], reviews: [approved(11)] }).onDay(12)).toMatchObject({ status: 'ok', dueAt: at(101), reasons: [] });
  });
  it('a review asking for changes does not clear it', () => {
    expect(given({ triggers: [incident(10)], reviews: [changes(11)] }).onDay(12).status).toBe('overdue');
  });
  it('a review asking for changes makes it due at once, and overdue after the grace period', () => {
    expect(given({ reviews: [approved(5), changes(20)] }).onDay(20)).toMatchObject({ status: 'due', dueAt: at(20), overdueAt: at(34) });
    expect(given({ reviews: [approved(5), changes(20)] }).onDay(34).status).toBe('overdue');
  });
  it('a trigger from before the installation does not count (an --all incident does not reach later installs)', () => {
    expect(given({ triggers: [incident(3)], installedDay: 5 }).onDay(6).status).toBe('ok');
  });
  it('reasons come oldest first', () => {
    const reasons = given({ triggers: [regulation(30), incident(20)] }).onDay(100).reasons;
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toContain('major incident');
    expect(reasons[1]).toContain('regulation change');
    expect(reasons[2]).toContain('review interval');
  });
});

describe('review status - settings', () => {
  it('works in seconds, as tests configure it', () => {
    const input = { installedAt: at(0), reviews: [], triggers: [] };
    expect(reviewStatus(input, new Date(T0 + 2_000), { intervalMs: 3_000, graceMs: 60_000 }).status).toBe('ok');
    expect(reviewStatus(input, new Date(T0 + 3_000), { intervalMs: 3_000, graceMs: 60_000 }).status).toBe('due');
    expect(reviewStatus(input, new Date(T0 + 3_000), { intervalMs: 3_000, graceMs: 60_000 }).reasons[0]).toContain('(3s)');
  });
  it('refuses an interval that is not positive', () => {
    expect(() => reviewStatus({ installedAt: at(0), reviews: [], triggers: [] }, new Date(T0), { intervalMs: 0, graceMs: 0 })).toThrow(RangeError);
  });
});
