import type { EnvironmentSettings, PromotionGate, PromotionRecord } from '@forgeone/contracts';
import semver from 'semver';
import type { ApprovalDecision } from '../approval/approval.decider.js';
import type { PluginState } from '../plugin/plugin.state.js';

/** How the version's signature verified in the target environment's mode and threshold. */
export interface PromotionSignatureFacts {
  readonly ok: boolean;
  readonly reason: string | null;
  readonly message: string;
}

/** Calls of the version in the source environment since it was installed there, from the sandbox-runner's records. */
export interface PromotionCallFacts {
  readonly total: number;
  /** Calls that failed in the plugin (guest error, trap, a sandbox limit), not calls refused before it ran. */
  readonly failed: number;
}

/** Whether the plugin must be reviewed before it may be promoted (the ReviewStatusReader port). */
export interface PromotionReviewFacts {
  readonly required: boolean;
  readonly reason: string | null;
}

/**
 * Everything a promotion is judged on besides the plugin's own state: gathered by the use case (environment
 * settings, approvals, token issuers, call records, signature, review status) and the time, so the gates are pure.
 */
export interface PromotionFacts {
  readonly name: string;
  readonly version: string;
  readonly from: string;
  readonly to: string;
  readonly promoter: string;
  /** ISO time of the command. */
  readonly now: string;
  readonly target: EnvironmentSettings;
  /** When the digest was last installed in the source environment (envelope time); null when it is not installed there. */
  readonly sourceInstalledAt: string | null;
  readonly signature: PromotionSignatureFacts;
  readonly calls: PromotionCallFacts;
  /** Standing decisions on this version for the target, by principal. */
  readonly approvals: Readonly<Record<string, ApprovalDecision>>;
  /** For each principal who decided: who issued the tokens they hold. */
  readonly tokenIssuers: Readonly<Record<string, readonly string[]>>;
  readonly review: PromotionReviewFacts;
  /** Oldest test run a promotion accepts, in seconds. */
  readonly testRunMaxAgeSeconds: number;
  /** Highest share of failed calls in the source a promotion accepts (0–1). */
  readonly maxFailureRate: number;
}

export interface PromotionVerdict {
  /** Every gate that does not hold, in a fixed order; empty when the promotion may go ahead. */
  readonly unmet: readonly PromotionGate[];
  /** What the promotion relies on, recorded on the event it appends; null while a gate is unmet. */
  readonly record: PromotionRecord | null;
  /** The digest promoted. */
  readonly digest: string;
}

/**
 * Judges a promotion of `facts.version` from `facts.from` into `facts.to` on the plugin's state and the facts.
 * Every gate is evaluated, so a refusal can name all of them at once. The version must exist.
 */
export function evaluatePromotionGates(state: PluginState, facts: PromotionFacts): PromotionVerdict {
  const unmet: PromotionGate[] = [];
  const fail = (code: PromotionGate['code'], message: string, details?: Record<string, unknown>) => unmet.push({ code, message, ...(details ? { details } : {}) });
  const ref = `${facts.name}@${facts.version}`;
  const version = state.versions[facts.version];
  if (!version) throw new Error(`evaluatePromotionGates: ${ref} is not published`);
  const { target } = facts;

  if (!target.gated) {
    fail('PROMOTION.NOT_GATED', `${facts.to} is not gated: install or upgrade into it directly`, { environment: facts.to });
  } else if (target.promotedFrom !== facts.from) {
    fail('PROMOTION.WRONG_SOURCE', `${facts.to} is promoted from ${target.promotedFrom ?? '(no environment)'}, not from ${facts.from}`, {
      from: facts.from,
      promotedFrom: target.promotedFrom,
    });
  }

  const current = state.installations[facts.to];
  const highest = state.highestVersions[facts.to];
  if (current && semver.eq(current.version, facts.version)) {
    fail('PROMOTION.TARGET', `${ref} is already installed in ${facts.to}`, { installedVersion: current.version });
  } else if (highest !== undefined && semver.lt(facts.version, highest)) {
    fail('PROMOTION.TARGET', `${ref} is lower than ${highest}, the highest version ${facts.to} has had; promotion never goes back (use forgeone plugin rollback)`, {
      highestVersion: highest,
    });
  }

  // The version itself, not only its module: two versions may share a digest with different manifests (limits, capabilities).
  const source = state.installations[facts.from];
  if (!source || source.digest !== version.digest || source.version !== facts.version) {
    fail(
      'PROMOTION.NOT_IN_SOURCE',
      source
        ? `${facts.from} runs ${facts.name}@${source.version} (${source.digest}), not ${ref} (${version.digest}): install ${ref} in ${facts.from} first`
        : `${facts.name} is not installed in ${facts.from}: install ${ref} there first`,
      { from: facts.from, digest: version.digest, sourceDigest: source?.digest ?? null },
    );
  }

  // The latest run of the digest counts only when it ran this version.
  const latest = state.testRuns[facts.from]?.[version.digest];
  const run = latest?.version === facts.version ? latest : undefined;
  const approved = countedApprovals(facts, version.digest, version.publisher);
  if (!run) {
    fail('PROMOTION.TEST_RUN_MISSING', `${ref} has no test run in ${facts.from}: run forgeone plugin test ${ref} --env ${facts.from}`, { from: facts.from });
  } else {
    if (!run.passed) fail('PROMOTION.TEST_RUN_FAILED', `the latest test run of ${ref} in ${facts.from} (${run.runId}) failed`, { runId: run.runId });
    const ageSeconds = (Date.parse(facts.now) - Date.parse(run.completedAt)) / 1000;
    if (ageSeconds > facts.testRunMaxAgeSeconds) {
      fail(
        'PROMOTION.TEST_RUN_STALE',
        `the latest test run of ${ref} in ${facts.from} (${run.runId}) completed ${Math.floor(ageSeconds)}s ago, more than the ${facts.testRunMaxAgeSeconds}s a promotion accepts: run the tests again`,
        { runId: run.runId, completedAt: run.completedAt, maxAgeSeconds: facts.testRunMaxAgeSeconds },
      );
    }
    if (run.flagged && !approved.some((a) => a.acceptedRegressionsRunId === run.runId)) {
      fail(
        'PROMOTION.REGRESSION_NOT_ACCEPTED',
        `the latest test run of ${ref} in ${facts.from} (${run.runId}) flagged operational regressions and no counted approval accepted them (forgeone plugin approve ${ref} --env ${facts.to} --accept-regressions)`,
        { runId: run.runId },
      );
    }
  }

  if (!facts.signature.ok && target.mode === 'strict') {
    fail('PROMOTION.SIGNATURE', `the signature of ${ref} does not satisfy ${facts.to} (strict, threshold ${target.threshold}): ${facts.signature.message}`, {
      reason: facts.signature.reason,
      mode: target.mode,
      threshold: target.threshold,
    });
  }

  if (facts.sourceInstalledAt !== null) {
    const soakedSeconds = Math.max(0, (Date.parse(facts.now) - Date.parse(facts.sourceInstalledAt)) / 1000);
    if (soakedSeconds < target.soakSeconds) {
      fail('PROMOTION.SOAK', `${ref} has run in ${facts.from} for ${Math.floor(soakedSeconds)}s of the ${target.soakSeconds}s ${facts.to} asks for`, {
        installedAt: facts.sourceInstalledAt,
        soakSeconds: target.soakSeconds,
      });
    }
  }
  const { total, failed } = facts.calls;
  if (total > 0 && failed / total > facts.maxFailureRate) {
    fail(
      'PROMOTION.SOAK',
      `${failed} of ${total} calls of ${ref} in ${facts.from} failed (${pct(failed / total)}), above the ${pct(facts.maxFailureRate)} a promotion accepts`,
      { calls: total, failed, maxFailureRate: facts.maxFailureRate },
    );
  }

  if (approved.length < target.approvals) {
    const excluded = Object.keys(facts.approvals).filter((p) => facts.approvals[p].decision === 'approved' && !approved.some((a) => a.principal === p));
    fail(
      'PROMOTION.APPROVALS',
      `${facts.to} needs ${target.approvals} approval(s) of ${ref} from principals other than its publisher (${version.publisher}) and the promoter (${facts.promoter}), and holders of no token either issued; it has ${approved.length}` +
        (excluded.length ? ` (not counted: ${excluded.join(', ')})` : ''),
      { required: target.approvals, counted: approved.map((a) => a.principal), notCounted: excluded },
    );
  }

  const rejections = Object.entries(facts.approvals).filter(([, d]) => d.decision === 'rejected' && d.digest === version.digest);
  if (rejections.length) {
    fail('PROMOTION.REJECTED', `${ref} was rejected for ${facts.to} by ${rejections.map(([p, d]) => `${p}${d.notes ? ` ("${d.notes}")` : ''}`).join(', ')}`, {
      rejectedBy: rejections.map(([p]) => p),
    });
  }

  if (facts.review.required) {
    fail('PROMOTION.REVIEW_REQUIRED', `${facts.name} needs a review before it is promoted: ${facts.review.reason ?? 'marked as needing review'}`);
  }

  if (unmet.length || !run) return { unmet, record: null, digest: version.digest };
  const accepted = run.flagged ? run.runId : undefined;
  return {
    unmet,
    digest: version.digest,
    record: {
      from: facts.from,
      approvals: approved.filter((a) => a.eventId !== null).map((a) => ({ principal: a.principal, eventId: a.eventId! })),
      testRunId: run.runId,
      ...(accepted ? { acceptedRegressionsRunId: accepted } : {}),
    },
  };
}

interface CountedApproval {
  readonly principal: string;
  readonly eventId: string | null;
  readonly acceptedRegressionsRunId: string | null;
}

// Separation of duties: an approval counts when its principal is neither the publisher nor the promoter, and
// holds no token either of them issued (a token minted for a colleague is not a second pair of eyes).
function countedApprovals(facts: PromotionFacts, digest: string, publisher: string): CountedApproval[] {
  const interested = new Set([publisher, facts.promoter]);
  return Object.entries(facts.approvals)
    .filter(([principal, d]) => d.decision === 'approved' && d.digest === digest && !interested.has(principal))
    .filter(([principal]) => !(facts.tokenIssuers[principal] ?? []).some((issuer) => interested.has(issuer)))
    .map(([principal, d]) => ({ principal, eventId: d.eventId, acceptedRegressionsRunId: d.acceptedRegressionsRunId }));
}

function pct(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}
