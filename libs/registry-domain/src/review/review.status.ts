import type { ReviewOutcome, ReviewStatusName } from '@forgeone/contracts';

/** A review of the plugin as recorded. */
export interface ReviewFact {
  readonly at: string;
  readonly outcome: ReviewOutcome;
  readonly by: string;
  readonly notes: string;
}

/**
 * Something after which the plugin must be reviewed: a major incident or a regulation change naming it
 * (or all plugins), or an emergency change of it in the environment. Each makes it overdue at once.
 */
export interface ReviewTrigger {
  readonly kind: 'incident' | 'regulation' | 'emergency';
  readonly at: string;
  /** What the reason says of it: the incident's or regulation's summary, the emergency's reason. */
  readonly text: string;
  readonly by: string;
}

/** What the status of one plugin in one environment where reviews apply is computed from. */
export interface ReviewStatusInput {
  /** When the current installation in the environment began (a removal and a new install start again). */
  readonly installedAt: string;
  readonly reviews: readonly ReviewFact[];
  readonly triggers: readonly ReviewTrigger[];
}

export interface ReviewIntervals {
  /** Due this long after the last approved review, or the installation when there is none. */
  readonly intervalMs: number;
  /** Overdue this long after falling due by the interval or a review asking for changes. */
  readonly graceMs: number;
}

export interface ReviewStatus {
  readonly status: ReviewStatusName;
  readonly dueAt: string;
  readonly overdueAt: string;
  /** Why it is due or overdue (empty when ok), oldest first. */
  readonly reasons: string[];
}

const ms = (iso: string) => Date.parse(iso);
const iso = (time: number) => new Date(time).toISOString();

/**
 * Where the review of a plugin installed in an environment stands at `now`:
 * - due `intervalMs` after its last approved review (or its installation), overdue `graceMs` later;
 * - a review asking for changes after the last approval makes it due at once (overdue after the grace);
 * - a major incident, a regulation change or an emergency change after the last approval (and not
 *   before the installation) makes it overdue at once;
 * - an approved review clears everything recorded before it.
 */
export function reviewStatus(input: ReviewStatusInput, now: Date, intervals: ReviewIntervals): ReviewStatus {
  const installed = ms(input.installedAt);
  const approvals = input.reviews.filter((r) => r.outcome === 'approved').map((r) => ms(r.at));
  const lastApproval = approvals.length > 0 ? Math.max(...approvals) : null;
  // An approval from before this installation (a plugin removed and installed again) does not count.
  const base = lastApproval !== null && lastApproval >= installed ? lastApproval : installed;
  const cleared = (at: number) => approvals.some((a) => a >= at);

  const scheduled = base + intervalsOf(intervals).intervalMs;
  let dueAt = scheduled;
  let overdueAt = scheduled + intervals.graceMs;
  const reasons: { at: number; text: string }[] = [];
  const nowMs = now.getTime();
  if (nowMs >= scheduled) {
    const since = lastApproval !== null && lastApproval >= installed ? `its last approved review on ${iso(base)}` : `its installation on ${iso(base)} with no approved review since`;
    reasons.push({ at: scheduled, text: `the review interval (${spanText(intervals.intervalMs)}) has passed since ${since}` });
  }

  for (const review of input.reviews) {
    const at = ms(review.at);
    if (review.outcome !== 'changes-required' || at < installed || cleared(at)) continue;
    dueAt = Math.min(dueAt, at);
    overdueAt = Math.min(overdueAt, at + intervals.graceMs);
    reasons.push({ at, text: `the review of ${review.at} by ${review.by} required changes: ${review.notes}` });
  }
  for (const trigger of input.triggers) {
    const at = ms(trigger.at);
    if (at < installed || cleared(at)) continue;
    dueAt = Math.min(dueAt, at);
    overdueAt = Math.min(overdueAt, at);
    reasons.push({ at, text: `${TRIGGER_TEXT[trigger.kind]} on ${trigger.at} by ${trigger.by}: ${trigger.text}` });
  }

  const status: ReviewStatusName = nowMs >= overdueAt ? 'overdue' : nowMs >= dueAt ? 'due' : 'ok';
  return {
    status,
    dueAt: iso(dueAt),
    overdueAt: iso(overdueAt),
    reasons: status === 'ok' ? [] : reasons.sort((a, b) => a.at - b.at).map((r) => r.text),
  };
}

const TRIGGER_TEXT: Record<ReviewTrigger['kind'], string> = {
  incident: 'a major incident was recorded',
  regulation: 'a regulation change was recorded',
  emergency: 'an emergency change was made',
};

function intervalsOf(intervals: ReviewIntervals): ReviewIntervals {
  if (!(intervals.intervalMs > 0)) throw new RangeError(`the review interval must be positive, got ${intervals.intervalMs} ms`);
  return intervals;
}

/** 90d, 12h, 30s: the largest unit that divides the span. */
export function spanText(spanMs: number): string {
  const seconds = Math.round(spanMs / 1000);
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3_600], ['m', 60]] as const) if (seconds !== 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}
