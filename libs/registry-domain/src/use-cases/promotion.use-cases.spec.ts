import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  DEFAULT_SIGNATURE_POLICY,
  DEFAULT_STORAGE_QUOTA_SETTINGS,
  ForgeOneError,
  IDENTITY_EVENT_TYPES,
  PLUGIN_AGGREGATE,
  PLUGIN_EVENT_TYPES,
  TOKEN_AGGREGATE,
} from '@forgeone/contracts';
import { InMemoryEventStore } from '@forgeone/event-sourcing';
import { beforeEach, describe, expect, it } from 'vitest';
import { installPlugin } from './change-installation.use-case.js';
import { setEnvironment } from './environment.use-cases.js';
import { approvePlugin, promotePlugin, rejectPlugin } from './promotion.use-cases.js';
import { publishPluginVersion } from './publish-plugin-version.use-case.js';
import type { AuthorizationRequest, Authorizer, CommandContext, EnvironmentAuthorizationRequest, RegistryPorts, SignatureVerifier } from './registry.ports.js';

const hello = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'plugins', 'hello');
const manifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown> & { name: string; version: string };
const wasm = readFileSync(join(hello, 'plugin.wasm')).toString('base64');
const NAME = manifest.name;
const VERSION = manifest.version;

const ROLES: Record<string, string[]> = {
  dev: ['publish', 'install', 'upgrade'],
  rm: ['promote', 'approve', 'emergency-change', 'install'],
  ann: ['approve'],
  admin: ['configure-environment', 'read-environment'],
};
class RoleAuthorizer implements Authorizer {
  readonly asked: AuthorizationRequest[] = [];
  async authorize(request: AuthorizationRequest) {
    this.asked.push(request);
    const actions = ROLES[request.credential ?? ''];
    if (!actions) throw new ForgeOneError('AUTH.UNAUTHENTICATED', 'no valid credential');
    if (!actions.includes(request.action)) throw new ForgeOneError('AUTHZ.DENIED', `${request.credential} may not ${request.action}`);
    return { id: request.credential!, tenant: 'acme' };
  }
  async authorizeEnvironment(request: EnvironmentAuthorizationRequest) {
    if (!ROLES[request.credential ?? '']?.includes(request.action)) throw new ForgeOneError('AUTHZ.DENIED', 'no');
    return { id: request.credential!, tenant: 'acme' };
  }
}
// Every version verifies: the signature gate is judged in the decider specs; the real verifier runs in the e2e tests.
const verifies: SignatureVerifier = {
  checkEnvelope: () => ({ ok: true, reason: null, message: 'well-formed' }),
  verify: async () => ({ ok: true, reason: null, message: 'verified' }),
};

let ids = 0;
const NOW = new Date('2026-12-07T12:00:00Z');
const ctx = (credential: string, now = NOW): CommandContext => ({ credential, now, newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}` });

describe('promotion use cases', () => {
  let store: InMemoryEventStore;
  let ports: RegistryPorts;
  let digest: string;

  // A recorded test run, as the registry appends it after the sandbox-runner ran the vectors.
  async function recordRun(passed: boolean, flagged = false) {
    const runId = ctx('x').newId();
    await store.append(PLUGIN_AGGREGATE, `acme:${NAME}`, [
      {
        id: ctx('x').newId(),
        type: PLUGIN_EVENT_TYPES.testRunRecorded,
        time: NOW.toISOString(),
        actor: 'dev',
        tenant: 'acme',
        subject: NAME,
        data: {
          runId,
          name: NAME,
          version: VERSION,
          digest,
          environment: 'staging',
          trigger: 'command',
          runner: 'runner-1',
          startedAt: NOW.toISOString(),
          completedAt: NOW.toISOString(),
          passed,
          vectors: [],
          totals: { durationMs: 1, fuel: 1, memoryPeakBytes: 1, outputBytes: 1 },
          comparedWith: null,
          limitFactor: 2,
          regressions: [],
          flagged,
        },
      },
    ], { expectedSequence: 'any' });
    return runId;
  }

  beforeEach(async () => {
    store = new InMemoryEventStore();
    ports = {
      events: store,
      authorizer: new RoleAuthorizer(),
      signatures: verifies,
      signaturePolicy: DEFAULT_SIGNATURE_POLICY,
      storageQuota: DEFAULT_STORAGE_QUOTA_SETTINGS,
      sha256: (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      artifacts: { put: async (bytes) => ({ digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, sizeBytes: bytes.byteLength, created: true }) },
    };
    digest = (await publishPluginVersion(ports, { manifest, wasm }, ctx('dev'))).digest;
    await installPlugin(ports, { name: NAME, version: VERSION, environment: 'staging' }, ctx('dev'));
  });

  it('a plain install into production is refused naming promote; an emergency change asks its own action and is recorded', async () => {
    await expect(installPlugin(ports, { name: NAME, version: VERSION, environment: 'production' }, ctx('rm'))).rejects.toMatchObject({
      code: 'REGISTRY.GATED_ENVIRONMENT',
      message: expect.stringContaining('forgeone plugin promote'),
    });
    await expect(installPlugin(ports, { name: NAME, version: VERSION, environment: 'production', emergency: { reason: 'outage' } }, ctx('dev'))).rejects.toMatchObject({
      code: 'AUTHZ.DENIED',
    });
    await installPlugin(ports, { name: NAME, version: VERSION, environment: 'production', emergency: { reason: 'outage' } }, ctx('rm'));
    const last = (await store.read(PLUGIN_AGGREGATE, `acme:${NAME}`)).at(-1)!.event;
    expect(last).toMatchObject({ actor: 'rm', data: { environment: 'production', emergency: { reason: 'outage' } } });
    await expect(installPlugin(ports, { name: NAME, version: VERSION, environment: 'qa', emergency: { reason: 'x' } }, ctx('rm'))).rejects.toMatchObject({
      code: 'COMMAND.INVALID',
    });
  });

  it('the publisher may not approve; another approver may, and the promotion records it with the test run', async () => {
    const runId = await recordRun(true);
    await expect(approvePlugin(ports, { name: NAME, version: VERSION, environment: 'production' }, ctx('dev'))).rejects.toMatchObject({ code: 'AUTHZ.DENIED' });
    ROLES.dev.push('approve');
    try {
      await expect(approvePlugin(ports, { name: NAME, version: VERSION, environment: 'production' }, ctx('dev'))).rejects.toMatchObject({ code: 'APPROVAL.OWN_VERSION' });
    } finally {
      ROLES.dev.pop();
    }
    const approval = await approvePlugin(ports, { name: NAME, version: VERSION, environment: 'production', notes: 'ok' }, ctx('ann'));
    expect(approval).toMatchObject({ decision: 'approved', outcome: 'recorded' });
    const dry = await promotePlugin(ports, { name: NAME, version: VERSION, from: 'staging', to: 'production', dryRun: true }, ctx('rm'));
    expect(dry).toMatchObject({ dryRun: true, eventId: null });
    const promoted = await promotePlugin(ports, { name: NAME, version: VERSION, from: 'staging', to: 'production' }, ctx('rm'));
    expect(promoted).toMatchObject({ environment: 'production', digest, promotion: { from: 'staging', testRunId: runId, approvals: [{ principal: 'ann', eventId: approval.eventId }] } });
    const last = (await store.read(PLUGIN_AGGREGATE, `acme:${NAME}`)).at(-1)!.event;
    expect(last).toMatchObject({ type: PLUGIN_EVENT_TYPES.installed, actor: 'rm', data: { environment: 'production', promotion: { from: 'staging' } } });
  });

  it('the promoter approving and promoting alone is refused, as is an approver holding a token the promoter issued', async () => {
    await recordRun(true);
    await approvePlugin(ports, { name: NAME, version: VERSION, environment: 'production' }, ctx('rm'));
    await expect(promotePlugin(ports, { name: NAME, version: VERSION, from: 'staging', to: 'production' }, ctx('rm'))).rejects.toMatchObject({
      code: 'PROMOTION.GATES_UNMET',
      details: { gates: [expect.objectContaining({ code: 'PROMOTION.APPROVALS', details: expect.objectContaining({ notCounted: ['rm'] }) })] },
    });
    await store.append(TOKEN_AGGREGATE, 'tok12345', [
      {
        id: 'token-event-1',
        type: IDENTITY_EVENT_TYPES.tokenIssued,
        time: NOW.toISOString(),
        actor: 'rm',
        tenant: 'acme',
        data: { tokenId: 'tok12345', principal: 'ann', principalType: 'user', role: 'approver', tenant: 'acme', secretHash: 'a'.repeat(64), issuedBy: 'rm' },
      },
    ], { expectedSequence: 0 });
    await approvePlugin(ports, { name: NAME, version: VERSION, environment: 'production' }, ctx('ann'));
    await expect(promotePlugin(ports, { name: NAME, version: VERSION, from: 'staging', to: 'production' }, ctx('rm'))).rejects.toMatchObject({
      details: { gates: [expect.objectContaining({ code: 'PROMOTION.APPROVALS', details: expect.objectContaining({ notCounted: ['rm', 'ann'] }) })] },
    });
  });

  it('names every unmet gate at once: a failed run, too short a soak, a rejection', async () => {
    await recordRun(false);
    await setEnvironment(ports, { environment: 'production', soakSeconds: 3600 }, ctx('admin'));
    await rejectPlugin(ports, { name: NAME, version: VERSION, environment: 'production', notes: 'not yet' }, ctx('ann'));
    const error = await promotePlugin(ports, { name: NAME, version: VERSION, from: 'staging', to: 'production' }, ctx('rm')).catch((e: ForgeOneError) => e);
    expect((error as ForgeOneError).details!.gates).toEqual([
      expect.objectContaining({ code: 'PROMOTION.TEST_RUN_FAILED' }),
      expect.objectContaining({ code: 'PROMOTION.SOAK' }),
      expect.objectContaining({ code: 'PROMOTION.APPROVALS' }),
      expect.objectContaining({ code: 'PROMOTION.REJECTED', message: expect.stringContaining('not yet') }),
    ]);
  });

  it('an emergency change marks the plugin as needing review before its next promotion', async () => {
    await recordRun(true);
    await approvePlugin(ports, { name: NAME, version: VERSION, environment: 'production' }, ctx('ann'));
    await installPlugin(ports, { name: NAME, version: VERSION, environment: 'production', emergency: { reason: 'outage' } }, ctx('rm'));
    const error = await promotePlugin(ports, { name: NAME, version: VERSION, from: 'staging', to: 'production' }, ctx('rm')).catch((e: ForgeOneError) => e);
    expect(((error as ForgeOneError).details!.gates as { code: string }[]).map((g) => g.code)).toEqual(['PROMOTION.TARGET', 'PROMOTION.REVIEW_REQUIRED']);
  });
});
