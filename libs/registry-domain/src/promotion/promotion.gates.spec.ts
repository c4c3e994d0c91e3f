import { ForgeOneError, PLUGIN_EVENT_TYPES, type EnvironmentSettings, type PluginEvent, type PluginManifest } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { ApprovalDecision } from '../approval/approval.decider.js';
import { decide, evolve } from '../plugin/plugin.decider.js';
import { initialPluginState } from '../plugin/plugin.state.js';
import type { PromotionFacts } from './promotion.gates.js';

const NAME = 'acme/hello';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const RUN = '00000000-0000-4000-8000-000000000001';
const NOW = '2026-12-07T12:00:00.000Z';
const manifest = (version: string): PluginManifest => ({
  name: NAME,
  version,
  abi: 1,
  description: 'says hello',
  handlers: ['greet'],
  capabilities: {},
  limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 65536 },
  tests: [],
});
const published = (version: string, d = digest('a')): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.versionPublished,
  data: { name: NAME, version, digest: d, sizeBytes: 10, manifestDigest: digest('m'), manifest: manifest(version), publisher: 'dev' },
});
const installed = (version: string, environment: string, d = digest('a')): PluginEvent => ({ type: PLUGIN_EVENT_TYPES.installed, data: { name: NAME, version, digest: d, environment } });
const testRun = (over: { passed?: boolean; flagged?: boolean; completedAt?: string; d?: string } = {}): PluginEvent => ({
  type: PLUGIN_EVENT_TYPES.testRunRecorded,
  data: {
    runId: RUN,
    name: NAME,
    version: '1.0.0',
    digest: over.d ?? digest('a'),
    environment: 'staging',
    trigger: 'command',
    runner: 'runner-1',
    startedAt: '2026-12-07T11:59:00.000Z',
    completedAt: over.completedAt ?? '2026-12-07T11:59:01.000Z',
    passed: over.passed ?? true,
    vectors: [],
    totals: { durationMs: 1, fuel: 1, memoryPeakBytes: 1, outputBytes: 1 },
    comparedWith: null,
    limitFactor: 2,
    regressions: [],
    flagged: over.flagged ?? false,
  },
});

const production: EnvironmentSettings = { mode: 'strict', threshold: 1, gated: true, promotedFrom: 'staging', approvals: 1, soakSeconds: 0, limitCaps: {} };
const approval = (over: Partial<ApprovalDecision> = {}): ApprovalDecision => ({
  decision: 'approved',
  digest: digest('a'),
  eventId: 'evt-approval-1',
  at: '2026-12-07T11:59:30.000Z',
  notes: null,
  acceptedRegressionsRunId: null,
  ...over,
});
const facts = (over: Partial<PromotionFacts> = {}): PromotionFacts => ({
  name: NAME,
  version: '1.0.0',
  from: 'staging',
  to: 'production',
  promoter: 'rm',
  now: NOW,
  target: production,
  sourceInstalledAt: '2026-12-07T11:00:00.000Z',
  signature: { ok: true, reason: null, message: 'verified' },
  calls: { total: 0, failed: 0 },
  approvals: { approver: approval() },
  tokenIssuers: { approver: ['bootstrap-admin'] },
  review: { required: false, reason: null },
  testRunMaxAgeSeconds: 3600,
  maxFailureRate: 0.05,
  ...over,
});
const ready = [published('1.0.0'), installed('1.0.0', 'staging'), testRun()];

function promote(events: PluginEvent[], f: PromotionFacts) {
  return decide({ type: 'PromotePlugin', data: f }, events.reduce(evolve, initialPluginState()));
}
function unmetCodes(events: PluginEvent[], f: PromotionFacts): string[] {
  try {
    promote(events, f);
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeOneError);
    expect((error as ForgeOneError).code).toBe('PROMOTION.GATES_UNMET');
    return ((error as ForgeOneError).details!.gates as { code: string }[]).map((g) => g.code);
  }
  throw new Error('the promotion was not refused');
}

describe('promotion gates - each gate on its own', () => {
  it('promotes when every gate holds: installed into the target with what it relied on', () => {
    expect(promote(ready, facts())).toEqual([
      {
        type: PLUGIN_EVENT_TYPES.installed,
        data: { name: NAME, version: '1.0.0', digest: digest('a'), environment: 'production', promotion: { from: 'staging', approvals: [{ principal: 'approver', eventId: 'evt-approval-1' }], testRunId: RUN } },
      },
    ]);
  });
  it('upgrades the target when it runs a lower version', () => {
    const events = [published('0.9.0', digest('b')), installed('0.9.0', 'production', digest('b')), ...ready];
    const [event] = promote(events, facts());
    expect(event.type).toBe(PLUGIN_EVENT_TYPES.upgraded);
    expect(event.data).toMatchObject({ fromVersion: '0.9.0', version: '1.0.0', environment: 'production' });
  });
  it('NOT_GATED: the target is not gated', () => {
    expect(unmetCodes(ready, facts({ target: { ...production, gated: false, promotedFrom: null } }))).toEqual(['PROMOTION.NOT_GATED']);
  });
  it('WRONG_SOURCE: from is not the target’s source', () => {
    expect(unmetCodes([...ready, installed('1.0.0', 'qa')], facts({ from: 'qa' }))).toEqual(['PROMOTION.WRONG_SOURCE', 'PROMOTION.TEST_RUN_MISSING']);
  });
  it('NOT_IN_SOURCE: nothing installed in the source, or another digest there', () => {
    expect(unmetCodes([published('1.0.0'), testRun()], facts({ sourceInstalledAt: null }))).toEqual(['PROMOTION.NOT_IN_SOURCE']);
    const other = [published('1.0.0'), published('1.1.0', digest('c')), installed('1.1.0', 'staging', digest('c')), testRun()];
    expect(unmetCodes(other, facts())).toEqual(['PROMOTION.NOT_IN_SOURCE']);
  });
  it('NOT_IN_SOURCE and TEST_RUN_MISSING: another version sharing the digest runs (and was tested) in the source', () => {
    const shared = [published('1.0.0'), published('1.1.0'), installed('1.0.0', 'staging'), testRun()];
    expect(unmetCodes(shared, facts({ version: '1.1.0' }))).toEqual(['PROMOTION.NOT_IN_SOURCE', 'PROMOTION.TEST_RUN_MISSING']);
  });
  it('TEST_RUN_MISSING: no run of the digest in the source', () => {
    expect(unmetCodes([published('1.0.0'), installed('1.0.0', 'staging')], facts())).toEqual(['PROMOTION.TEST_RUN_MISSING']);
  });
  it('TEST_RUN_FAILED: the latest run failed', () => {
    expect(unmetCodes([...ready, testRun({ passed: false })], facts())).toEqual(['PROMOTION.TEST_RUN_FAILED']);
  });
  it('TEST_RUN_STALE: the latest run is older than the maximum age', () => {
    expect(unmetCodes(ready, facts({ testRunMaxAgeSeconds: 30 }))).toEqual(['PROMOTION.TEST_RUN_STALE']);
  });
  it('REGRESSION_NOT_ACCEPTED: a flagged run needs a counted approval that accepted it', () => {
    const flagged = [...ready, testRun({ flagged: true })];
    expect(unmetCodes(flagged, facts())).toEqual(['PROMOTION.REGRESSION_NOT_ACCEPTED']);
    const [event] = promote(flagged, facts({ approvals: { approver: approval({ acceptedRegressionsRunId: RUN }) } }));
    expect(event.data).toMatchObject({ promotion: { acceptedRegressionsRunId: RUN } });
  });
  it('SIGNATURE: a signature failing a strict target; an audit target accepts it flagged', () => {
    const bad = { ok: false, reason: 'SIGNATURE.MISSING', message: 'unsigned' };
    expect(unmetCodes(ready, facts({ signature: bad }))).toEqual(['PROMOTION.SIGNATURE']);
    expect(promote(ready, facts({ signature: bad, target: { ...production, mode: 'audit' } }))).toHaveLength(1);
  });
  it('SOAK: not long enough in the source, or too many failed calls there', () => {
    expect(unmetCodes(ready, facts({ target: { ...production, soakSeconds: 7200 } }))).toEqual(['PROMOTION.SOAK']);
    expect(unmetCodes(ready, facts({ calls: { total: 10, failed: 2 } }))).toEqual(['PROMOTION.SOAK']);
    expect(promote(ready, facts({ calls: { total: 100, failed: 5 } }))).toHaveLength(1);
  });
  it('APPROVALS: too few; the publisher, the promoter and holders of a token either issued are not counted', () => {
    expect(unmetCodes(ready, facts({ approvals: {} }))).toEqual(['PROMOTION.APPROVALS']);
    expect(unmetCodes(ready, facts({ approvals: { dev: approval() } }))).toEqual(['PROMOTION.APPROVALS']);
    expect(unmetCodes(ready, facts({ approvals: { rm: approval() } }))).toEqual(['PROMOTION.APPROVALS']);
    expect(unmetCodes(ready, facts({ tokenIssuers: { approver: ['rm'] } }))).toEqual(['PROMOTION.APPROVALS']);
    expect(unmetCodes(ready, facts({ tokenIssuers: { approver: ['dev'] } }))).toEqual(['PROMOTION.APPROVALS']);
    expect(unmetCodes(ready, facts({ approvals: { approver: approval({ digest: digest('z') }) } }))).toEqual(['PROMOTION.APPROVALS']);
    expect(promote(ready, facts({ target: { ...production, approvals: 0 }, approvals: {} }))).toHaveLength(1);
  });
  it('REJECTED: a standing rejection blocks the version', () => {
    expect(unmetCodes(ready, facts({ approvals: { approver: approval(), other: approval({ decision: 'rejected', notes: 'no' }) } }))).toEqual(['PROMOTION.REJECTED']);
  });
  it('REVIEW_REQUIRED: the review status port says the plugin needs a review', () => {
    expect(unmetCodes(ready, facts({ review: { required: true, reason: 'emergency change' } }))).toEqual(['PROMOTION.REVIEW_REQUIRED']);
  });
  it('TARGET: the version is already there, or below the target’s highest version', () => {
    expect(unmetCodes([...ready, installed('1.0.0', 'production')], facts())).toEqual(['PROMOTION.TARGET']);
    const higher = [published('2.0.0', digest('c')), installed('2.0.0', 'production', digest('c')), ...ready];
    expect(unmetCodes(higher, facts())).toEqual(['PROMOTION.TARGET']);
  });
  it('refuses a version that was never published', () => {
    expect(() => promote(ready, facts({ version: '9.9.9' }))).toThrow(expect.objectContaining({ code: 'REGISTRY.VERSION_NOT_FOUND' }));
  });
});

describe('promotion gates - several at once', () => {
  it('names every unmet gate in one refusal, each with its code and message', () => {
    const events = [published('1.0.0'), published('1.1.0', digest('c')), installed('1.1.0', 'staging', digest('c'))];
    const codes = unmetCodes(
      events,
      facts({ approvals: { dev: approval() }, signature: { ok: false, reason: 'SIGNATURE.MISSING', message: 'unsigned' }, review: { required: true, reason: 'x' } }),
    );
    expect(codes).toEqual(['PROMOTION.NOT_IN_SOURCE', 'PROMOTION.TEST_RUN_MISSING', 'PROMOTION.SIGNATURE', 'PROMOTION.APPROVALS', 'PROMOTION.REVIEW_REQUIRED']);
  });
});

describe('plugin decider - gated environments', () => {
  const base = [published('1.0.0'), published('1.1.0', digest('c'))];
  it('refuses a plain install or upgrade into a gated environment, naming promote', () => {
    const install = { type: 'InstallPlugin' as const, data: { name: NAME, version: '1.0.0', environment: 'production', gated: true } };
    expect(() => decide(install, base.reduce(evolve, initialPluginState()))).toThrow(expect.objectContaining({ code: 'REGISTRY.GATED_ENVIRONMENT', message: expect.stringContaining('forgeone plugin promote') }));
    const upgrade = { type: 'UpgradePlugin' as const, data: { name: NAME, version: '1.1.0', environment: 'production', gated: true } };
    const state = [...base, installed('1.0.0', 'production')].reduce(evolve, initialPluginState());
    expect(() => decide(upgrade, state)).toThrow(expect.objectContaining({ code: 'REGISTRY.GATED_ENVIRONMENT' }));
  });
  it('records an emergency change with its reason', () => {
    const state = base.reduce(evolve, initialPluginState());
    expect(decide({ type: 'InstallPlugin', data: { name: NAME, version: '1.0.0', environment: 'production', gated: true, emergency: { reason: 'outage' } } }, state)).toEqual([
      { type: PLUGIN_EVENT_TYPES.installed, data: { name: NAME, version: '1.0.0', digest: digest('a'), environment: 'production', emergency: { reason: 'outage' } } },
    ]);
  });
});
