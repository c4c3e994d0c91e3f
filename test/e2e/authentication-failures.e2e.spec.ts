import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { BusClient, connectNats } from '@forgeone/bus';
import { DECISION_AGGREGATE, ForgeOneError, names as namesFor, POLICY_EVENT_TYPES, type CloudEvent } from '@forgeone/contracts';
import type { JetStreamEventStore } from '@forgeone/event-store';
import { createTestDatabase, platformEventReader, removeNamespace, startTestPlatform, testNamespace, TEST_NATS_URL, type TestDatabase, type TestPlatform } from '@forgeone/test-harness';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const WINDOW_S = 4;

interface Answer {
  readonly status: number;
  readonly retryAfter?: string;
  readonly code?: string;
}

// One request from a given loopback address (all of 127.0.0.0/8 is this machine), so the test is several clients.
function get(apiUrl: string, path: string, token: string, localAddress: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` }, localAddress, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        const body = text ? (JSON.parse(text) as { error?: { code: string } }) : {};
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, ...(retryAfter ? { retryAfter } : {}), ...(body.error ? { code: body.error.code } : {}) });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

const garbage = () => `fo_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

describe('failed authentications - bounded on record, limited at the gateway', () => {
  const namespace = testNamespace('e2e-authfail');
  const names = namesFor(namespace);
  let db: TestDatabase;
  let platform: TestPlatform;
  let nc: NatsConnection;
  let store: JetStreamEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_AUTH_FAILURE_WINDOW_S: String(WINDOW_S) } });
    nc = await connectNats(TEST_NATS_URL, 'e2e-authfail');
    store = platformEventReader(nc, names, platform.dataDir);
  });

  afterAll(async () => {
    await nc?.close();
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  // Failed authentications on record for a source: how many, in how many events, and the most events any one window holds.
  async function onRecord(source: string) {
    const events: CloudEvent[] = (await store.read(DECISION_AGGREGATE, 'default')).map((e) => e.event);
    const single = events.filter((e) => e.type === POLICY_EVENT_TYPES.decisionRecorded && (e.data as { source?: string }).source === source);
    const counted = events.filter((e) => e.type === POLICY_EVENT_TYPES.authenticationFailuresCounted && (e.data as { source: string }).source === source);
    // Windows are aligned to the clock; a single record falls in the window of its time.
    const windowOf = (time: string) => Math.floor(Date.parse(time) / (WINDOW_S * 1000));
    const perWindow = new Map<number, { single: number; counts: number }>();
    for (const e of single) perWindow.set(windowOf(e.time), { single: (perWindow.get(windowOf(e.time))?.single ?? 0) + 1, counts: perWindow.get(windowOf(e.time))?.counts ?? 0 });
    for (const e of counted) {
      const w = windowOf((e.data as { windowStart: string }).windowStart);
      perWindow.set(w, { single: perWindow.get(w)?.single ?? 0, counts: (perWindow.get(w)?.counts ?? 0) + 1 });
    }
    return {
      events: single.length + counted.length,
      failures: single.length + counted.reduce((n, e) => n + (e.data as { count: number }).count, 0),
      windows: perWindow.size,
      mostSingleInAWindow: Math.max(0, ...[...perWindow.values()].map((w) => w.single)),
      mostCountsInAWindow: Math.max(0, ...[...perWindow.values()].map((w) => w.counts)),
    };
  }

  it('500 bad tokens over HTTP: 429 with Retry-After past 20 a window, a bounded number of events, and a good token from another client still works', async () => {
    const answers: Answer[] = [];
    for (let batch = 0; batch < 50; batch++) {
      answers.push(...(await Promise.all(Array.from({ length: 10 }, () => get(platform.apiUrl, '/v1/plugins', garbage(), '127.0.0.2')))));
    }
    const unauthenticated = answers.filter((a) => a.status === 401);
    const limited = answers.filter((a) => a.status === 429);
    expect(unauthenticated.length + limited.length).toBe(500);
    expect(limited.length).toBeGreaterThan(400);
    expect(limited.every((a) => a.code === 'AUTH.TOO_MANY_FAILURES' && Number(a.retryAfter) >= 1 && Number(a.retryAfter) <= WINDOW_S)).toBe(true);

    // The flooding client is refused even with a good token; another client with it is served.
    expect((await get(platform.apiUrl, '/v1/plugins', platform.bootstrapToken, '127.0.0.2')).status).toBe(429);
    expect((await get(platform.apiUrl, '/v1/plugins', platform.bootstrapToken, '127.0.0.3')).status).toBe(200);

    // Every 401 is on record once its window closed, as a handful of events per window, not one each.
    const source = 'http 127.0.0.2';
    await expect.poll(async () => (await onRecord(source)).failures, { timeout: 4 * WINDOW_S * 1000 + 10_000, interval: 500 }).toBe(unauthenticated.length);
    const recorded = await onRecord(source);
    expect(recorded.mostSingleInAWindow).toBeLessThanOrEqual(5);
    expect(recorded.mostCountsInAWindow).toBeLessThanOrEqual(1);
    expect(recorded.events).toBeLessThan(40);
  });

  it('500 bad tokens on the bus: every command refused with AUTH.UNAUTHENTICATED, a bounded number of events', async () => {
    const client = new BusClient(nc, names);
    const codes: string[] = [];
    for (let batch = 0; batch < 50; batch++) {
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          client.request('registry', 'install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, { credential: garbage() }).then(
            () => 'ok',
            (error: ForgeOneError) => error.code,
          ),
        ),
      );
      codes.push(...results);
    }
    expect(codes).toEqual(Array(500).fill('AUTH.UNAUTHENTICATED'));
    // Sent without a source, they count as the bus, via the registry.
    await expect.poll(async () => (await onRecord('bus')).failures, { timeout: 4 * WINDOW_S * 1000 + 10_000, interval: 500 }).toBe(500);
    const recorded = await onRecord('bus');
    expect(recorded.mostSingleInAWindow).toBeLessThanOrEqual(5);
    expect(recorded.mostCountsInAWindow).toBeLessThanOrEqual(1);
    expect(recorded.events).toBeLessThan(40);
  });

  it('a manifest nested 10,000 levels deep is 400 and a credential over 4096 characters is 401, over HTTP and on the bus', async () => {
    const deep = `{"manifest":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"wasm":"AA=="}`;
    const http = await fetch(`${platform.apiUrl}/v1/plugins`, { method: 'POST', headers: { authorization: `Bearer ${platform.bootstrapToken}`, 'content-type': 'application/json' }, body: deep });
    expect(http.status).toBe(400);
    expect(((await http.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'COMMAND.INVALID', message: expect.stringContaining('more than 64 levels deep') });
    const bus = await nc.request(names.command('registry', 'publish'), deep, { timeout: 5_000 });
    expect((bus.json() as { error: { code: string } }).error.code).toBe('COMMAND.INVALID');

    const long = `fo_${'x'.repeat(5000)}`;
    const tooLong = await get(platform.apiUrl, '/v1/plugins', long, '127.0.0.9');
    expect(tooLong).toMatchObject({ status: 401, code: 'AUTH.UNAUTHENTICATED' });
    const onBus = await new BusClient(nc, names).request('registry', 'install', { name: 'forgeone/hello', version: '1.0.0', environment: 'staging' }, { credential: long }).catch((e: ForgeOneError) => e);
    expect(onBus).toMatchObject({ code: 'AUTH.UNAUTHENTICATED', message: expect.stringContaining('more than the 4096') });
    const policyCommand = await new BusClient(nc, names).request('policy', 'show', {}, { credential: long }).catch((e: ForgeOneError) => e);
    expect(policyCommand).toMatchObject({ code: 'AUTH.UNAUTHENTICATED', message: expect.stringContaining('more than the 4096') });
  });
});
