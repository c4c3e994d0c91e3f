import { connectNats } from '@forgeone/bus';
import { ForgeOneError, names as namesFor, OWN_TENANT, type Action, type Names } from '@forgeone/contracts';
import { testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthzClient, authzInvalidationSubjects, createAuthzClient, type AuthzClientOptions } from './authz.client.js';
import { startTestAuthzResponder, type TestAuthzResponder } from './testing/authz-test.responder.js';

const SERVICE_CREDENTIAL = 'service:registry:test-credential';
const RULES: Record<string, readonly Action[]> = { developer: ['publish', 'install'], auditor: ['read-audit'] };
const TOKENS = {
  'tok-alice': { id: 'alice', tenant: 'acme', role: 'developer' },
  'tok-carol': { id: 'carol', tenant: 'acme', role: 'auditor' },
  'tok-gina': { id: 'gina', tenant: 'globex', role: 'developer' },
};
const hello = { type: 'Plugin', id: 'forgeone/hello' } as const;

async function refusal(promise: Promise<unknown>): Promise<ForgeOneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ForgeOneError);
  return error as ForgeOneError;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('authz client - asking policy over NATS', () => {
  let names: Names;
  let nc: NatsConnection;
  let publisher: NatsConnection;
  let responder: TestAuthzResponder;
  const clients: AuthzClient[] = [];

  const client = async (options: Partial<AuthzClientOptions> = {}, on: Names = names) => {
    const created = await createAuthzClient({ connection: nc, names: on, serviceCredential: () => SERVICE_CREDENTIAL, ...options });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    names = namesFor(testNamespace('authz'));
    nc = await connectNats(TEST_NATS_URL, 'authz-client-test');
    publisher = await connectNats(TEST_NATS_URL, 'authz-client-test-events');
  });

  beforeEach(async () => {
    responder = await startTestAuthzResponder({ connection: nc, names, tokens: TOKENS, rules: RULES, serviceCredential: SERVICE_CREDENTIAL });
  });

  afterEach(async () => {
    await responder.stop();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await publisher?.close();
    await nc?.close();
  });

  async function publishEvent(subject: string): Promise<void> {
    publisher.publish(subject, JSON.stringify({ type: 'io.forgeone.test.v1' }));
    await publisher.flush();
  }

  it("allow - resolves with the decision and the authenticated principal, for a resource of the caller's own tenant", async () => {
    const authz = await client();
    const decision = await authz.authorize('Bearer tok-alice', 'install', { ...hello, attributes: { environment: 'staging' } }, { environment: 'staging' });
    expect(decision).toMatchObject({ decision: 'allow', principal: { id: 'alice', tenant: 'acme', roles: ['developer'] }, policyIds: ['test-developer'] });
    // One question, without a tenant: policy fills in the principal's, and no look-up comes first.
    expect(responder.requests).toEqual([
      {
        credential: 'tok-alice',
        action: 'install',
        resource: { type: 'Plugin', id: 'forgeone/hello', attributes: { environment: 'staging' } },
        context: { environment: 'staging' },
      },
    ]);
    // Every check carries the calling service's own credential.
    expect(responder.authorizations).toEqual([SERVICE_CREDENTIAL]);
  });

  it('deny - AUTHZ.DENIED names principal, action and resource, with the policies and the decision id', async () => {
    const authz = await client();
    const error = await refusal(authz.authorize('tok-carol', 'install', hello, { environment: 'production' }));
    expect(error.code).toBe('AUTHZ.DENIED');
    expect(error.message).toMatch(/^carol may not install Plugin forgeone\/hello in production \(no policy allows it; decision test-decision-\d+\)/);
    expect(error.details).toMatchObject({ principal: 'carol', tenant: 'acme', action: 'install', policyIds: [], decisionId: expect.stringMatching(/^test-decision-/) });
  });

  it('deny - a resource of another tenant is refused', async () => {
    const authz = await client();
    const error = await refusal(authz.authorize('tok-alice', 'publish', { ...hello, tenant: 'globex' }));
    expect(error.code).toBe('AUTHZ.DENIED');
    expect(error.message).toMatch(/^alice may not publish Plugin forgeone\/hello of tenant globex/);
    // An explicit tenant is sent as given.
    expect(responder.requests).toEqual([expect.objectContaining({ resource: { ...hello, tenant: 'globex', attributes: {} } })]);
  });

  it('authentication - missing, unknown and revoked credentials pass through as AUTH.* errors', async () => {
    const authz = await client();
    expect((await refusal(authz.authorize(undefined, 'publish', hello))).code).toBe('AUTH.UNAUTHENTICATED');
    expect((await refusal(authz.authorize('Bearer   ', 'publish', hello))).code).toBe('AUTH.UNAUTHENTICATED');
    // A missing credential is refused without asking.
    expect(authz.stats().requests).toBe(0);
    expect((await refusal(authz.authorize('tok-nobody', 'publish', hello))).code).toBe('AUTH.UNAUTHENTICATED');
    responder.revoke('tok-gina');
    expect((await refusal(authz.authorize('tok-gina', 'publish', hello))).code).toBe('AUTH.TOKEN_REVOKED');
  });

  it('authentication - a credential over 4096 characters is AUTH.UNAUTHENTICATED saying so, without asking policy', async () => {
    const authz = await client();
    const error = await refusal(authz.authorize(`Bearer fo_${'x'.repeat(5000)}`, 'publish', hello));
    expect(error.code).toBe('AUTH.UNAUTHENTICATED');
    expect(error.message).toMatch(/^the credential is 5003 characters long, more than the 4096 any ForgeOne credential has/);
    expect(authz.stats().requests).toBe(0);
    // 4096 characters are still asked about (and refused by policy as unknown).
    expect((await refusal(authz.authorize('t'.repeat(4096), 'publish', hello))).code).toBe('AUTH.UNAUTHENTICATED');
    expect(authz.stats().requests).toBe(1);
  });

  it('source - travels with the check for policy to count failures by, and is not part of the cached question', async () => {
    const authz = await client();
    await authz.authorize('tok-alice', 'publish', hello, { source: 'http 203.0.113.7' });
    await authz.authorize('tok-alice', 'publish', hello, { source: 'http 198.51.100.1' });
    expect(responder.requests).toEqual([expect.objectContaining({ credential: 'tok-alice', source: 'http 203.0.113.7' })]);
    // A source that is not printable ASCII is left out rather than failing the check.
    await refusal(authz.authorize('tok-nobody', 'publish', hello, { source: 'http \u0000evil' }));
    expect(responder.requests.at(-1)).not.toHaveProperty('source');
  });

  it('fails closed - no policy service on the bus is AUTHZ.UNAVAILABLE', async () => {
    const authz = await client({}, namesFor(testNamespace('authz-none')));
    const error = await refusal(authz.authorize('tok-alice', 'publish', hello));
    expect(error.code).toBe('AUTHZ.UNAVAILABLE');
    expect(error.message).toMatch(/^authorisation service unreachable; the action was refused/);
    expect(error.details).toMatchObject({ reason: 'no-responders' });
  });

  it('fails closed - a policy service slower than the deadline is AUTHZ.UNAVAILABLE, within the deadline', async () => {
    const authz = await client({ timeoutMs: 150 });
    responder.delayMs = 400;
    const started = Date.now();
    const error = await refusal(authz.authorize('tok-alice', 'publish', { ...hello, tenant: 'acme' }));
    const elapsed = Date.now() - started;
    expect(error.code).toBe('AUTHZ.UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'timeout', timeoutMs: 150 });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(390);
  });

  it("tenant - the Tenant @own is the caller's own: one check, and a denial names the tenant policy used", async () => {
    const authz = await client();
    await expect(authz.authorize('tok-carol', 'read-audit', { type: 'Tenant', id: OWN_TENANT })).resolves.toMatchObject({
      decision: 'allow',
      principal: { id: 'carol', tenant: 'acme' },
    });
    const own = await refusal(authz.authorize('tok-gina', 'read-audit', { type: 'Tenant', id: OWN_TENANT }));
    expect(own.message).toMatch(/^gina may not read-audit Tenant globex \(no policy allows it/);
    expect(own.details).toMatchObject({ tenant: 'globex', resource: { type: 'Tenant', id: 'globex', tenant: 'globex' } });
    // A Tenant owns itself: named without a tenant, it is the tenant its id names.
    const other = await refusal(authz.authorize('tok-gina', 'read-audit', { type: 'Tenant', id: 'acme' }));
    expect(other.message).toMatch(/^gina may not read-audit Tenant acme of tenant acme/);
    expect(responder.requests.map((r) => r.resource)).toEqual([
      { type: 'Tenant', id: OWN_TENANT, attributes: {} },
      { type: 'Tenant', id: OWN_TENANT, attributes: {} },
      { type: 'Tenant', id: 'acme', attributes: {} },
    ]);
  });

  it('fails closed - a reply that is not a decision is AUTHZ.UNAVAILABLE', async () => {
    const authz = await client();
    responder.malformed = true;
    const error = await refusal(authz.authorize('tok-alice', 'publish', { ...hello, tenant: 'acme' }));
    expect(error.code).toBe('AUTHZ.UNAVAILABLE');
    expect(error.details).toMatchObject({ reason: 'malformed-reply' });
  });

  it('cache - a repeated question is answered from the cache, allows and denies alike', async () => {
    const authz = await client();
    await authz.authorize('tok-alice', 'publish', hello);
    await authz.authorize('tok-alice', 'publish', hello);
    expect((await refusal(authz.authorize('tok-alice', 'remove', hello))).code).toBe('AUTHZ.DENIED');
    const denied = await refusal(authz.authorize('tok-alice', 'remove', hello));
    expect(denied.code).toBe('AUTHZ.DENIED');
    expect(denied.message).toMatch(/^alice may not remove Plugin forgeone\/hello/);
    // One request per distinct question: publish and remove.
    expect(authz.stats()).toMatchObject({ requests: 2, hits: 2, misses: 2, size: 2 });
  });

  it('authorizeNow - a cached question is answered without a promise (an allow returned, a denial thrown); a new one is a promise', async () => {
    const authz = await client();
    const first = authz.authorizeNow('tok-alice', 'publish', hello);
    expect(first).toBeInstanceOf(Promise);
    const allowed = await first;
    const again = authz.authorizeNow('tok-alice', 'publish', hello);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toEqual(allowed);

    expect((await refusal(Promise.resolve(authz.authorizeNow('tok-alice', 'remove', hello)))).code).toBe('AUTHZ.DENIED');
    expect(() => authz.authorizeNow('tok-alice', 'remove', hello)).toThrow(expect.objectContaining({ code: 'AUTHZ.DENIED' }));
    expect(() => authz.authorizeNow(undefined, 'publish', hello)).toThrow(expect.objectContaining({ code: 'AUTH.UNAUTHENTICATED' }));
    expect(authz.stats()).toMatchObject({ requests: 2, hits: 2, misses: 2 });
  });

  it('cache - errors are not cached', async () => {
    const authz = await client();
    responder.malformed = true;
    expect((await refusal(authz.authorize('tok-alice', 'publish', hello))).code).toBe('AUTHZ.UNAVAILABLE');
    responder.malformed = false;
    await expect(authz.authorize('tok-alice', 'publish', hello)).resolves.toMatchObject({ decision: 'allow' });
  });

  it('cache - a policy event clears it, so a policy change applies to the next question', async () => {
    const authz = await client({ cacheTtlMs: 60_000 });
    await expect(authz.authorize('tok-alice', 'publish', hello)).resolves.toMatchObject({ decision: 'allow', policyVersion: 1 });
    responder.setRules({ developer: ['install'] });
    // Still cached: the change has not been announced.
    await expect(authz.authorize('tok-alice', 'publish', hello)).resolves.toMatchObject({ decision: 'allow' });

    const [policySubject] = authzInvalidationSubjects(names);
    expect(policySubject).toBe(`${names.namespace}.forgeone.evt.policy.>`);
    await publishEvent(names.eventSubject('policy', 'default'));
    await eventually(() => authz.stats().invalidations === 1, 'the policy event');

    const error = await refusal(authz.authorize('tok-alice', 'publish', hello));
    expect(error.code).toBe('AUTHZ.DENIED');
    expect(error.details).toMatchObject({ policyVersion: 2 });
  });

  it('cache - a token event clears it, so a revocation applies to the next question', async () => {
    const authz = await client({ cacheTtlMs: 60_000 });
    await authz.authorize('tok-alice', 'publish', hello);
    responder.revoke('tok-alice');
    await publishEvent(names.eventSubject('token', 'tok1d'));
    await eventually(() => authz.stats().invalidations === 1, 'the token event');
    expect((await refusal(authz.authorize('tok-alice', 'publish', hello))).code).toBe('AUTH.TOKEN_REVOKED');
  });

  it('cache - an answer asked for before a policy event is not kept after it', async () => {
    const authz = await client({ cacheTtlMs: 60_000 });
    responder.delayMs = 200;
    const pending = authz.authorize('tok-alice', 'publish', { ...hello, tenant: 'acme' });
    await eventually(() => responder.requests.length === 1, 'the check to reach policy');
    await publishEvent(names.eventSubject('policy', 'default'));
    await eventually(() => authz.stats().invalidations === 1, 'the policy event');
    await expect(pending).resolves.toMatchObject({ decision: 'allow' });
    // The decision may predate the change the event announced: it is used once, not cached.
    expect(authz.stats().size).toBe(0);
  });

  it('cache - decision events (written on every check) do not clear it', async () => {
    const authz = await client({ cacheTtlMs: 60_000 });
    await authz.authorize('tok-alice', 'publish', hello);
    await publishEvent(names.eventSubject('decision', 'd1'));
    await publishEvent(names.eventSubject('policy', 'default'));
    await eventually(() => authz.stats().invalidations === 1, 'the policy event');
    // Had the decision event cleared the cache too, the count would be 2.
    expect(authz.stats().invalidations).toBe(1);
  });

  it('cache - an entry expires after the TTL', async () => {
    let now = 0;
    const authz = await client({ cacheTtlMs: 5_000, now: () => now });
    await authz.authorize('tok-alice', 'publish', hello);
    now += 4_999;
    await authz.authorize('tok-alice', 'publish', hello);
    expect(authz.stats().requests).toBe(1);
    now += 1;
    await authz.authorize('tok-alice', 'publish', hello);
    // The decision expired: policy is asked again.
    expect(authz.stats().requests).toBe(2);
  });

  it('cache - a TTL of 0 asks policy every time', async () => {
    const authz = await client({ cacheTtlMs: 0 });
    await authz.authorize('tok-alice', 'publish', { ...hello, tenant: 'acme' });
    await authz.authorize('tok-alice', 'publish', { ...hello, tenant: 'acme' });
    expect(authz.stats()).toMatchObject({ requests: 2, hits: 0, size: 0 });
  });

  it('close - stops listening for invalidations', async () => {
    const authz = await client({ cacheTtlMs: 60_000 });
    await authz.close();
    await publishEvent(names.eventSubject('policy', 'default'));
    await new Promise((r) => setTimeout(r, 100));
    expect(authz.stats().invalidations).toBe(0);
  });
});
