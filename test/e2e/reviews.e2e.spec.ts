import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  helloPluginCopy,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
  wholeAuditLog,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Reviews on the running platform, driven through the CLI and the HTTP API: a platform whose review interval is
// three seconds (and whose grace period is an hour), a gated environment qa, an administrator who publishes and
// installs, a release manager who reviews and records incidents, and a developer who may do neither.

interface Status {
  name: string;
  environment: string;
  version: string;
  status: 'ok' | 'due' | 'overdue';
  dueAt: string;
  overdueAt: string;
  installedAt: string;
  reasons: string[];
  lastReview: { outcome: string; by: string } | null;
}
interface ReviewList {
  intervalSeconds: number;
  graceSeconds: number;
  plugins: Status[];
}
interface AuditEntry {
  sequence: number;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-reviews-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('reviews - due after the interval, overdue after a major incident or a regulation change, cleared by an approved review', () => {
  const namespace = testNamespace('e2e-reviews');
  let db: TestDatabase;
  let platform: TestPlatform;
  let admin: string;
  let releaseManager: string;
  let developer: string;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
  const http = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const overdue = async () => cliSucceeded<ReviewList>(await as(releaseManager, 'review', 'list', '--overdue')).plugins.filter((p) => p.environment === 'qa');
  const statusOf = async (name: string) => {
    const reply = await http(releaseManager, 'GET', `/v1/plugins/${name}/review`);
    expect(reply.status).toBe(200);
    return ((await reply.json()) as { environments: Status[] }).environments.find((e) => e.environment === 'qa')!;
  };

  beforeAll(async () => {
    db = await createTestDatabase('fo_reviews');
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_REVIEW_INTERVAL: '3s', FORGEONE_REVIEW_GRACE: '1h' } });
    admin = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin', tenant: 'acme' })).token;
    releaseManager = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'rm-1', role: 'release-manager', tenant: 'acme' })).token;
    developer = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-1', role: 'developer', tenant: 'acme' })).token;
    // qa takes unsigned versions (audit mode); the plugins are installed while it is not gated, then it is gated,
    // so that reviews apply there (every gated environment, by default).
    cliSucceeded(await as(admin, 'env', 'set', 'qa', '--mode', 'audit'));
    for (const name of ['acme/alpha', 'acme/beta', 'acme/gamma']) {
      cliSucceeded(await as(admin, 'plugin', 'publish', helloPluginCopy(work, name, '1.0.0')));
      cliSucceeded(await as(admin, 'plugin', 'install', `${name}@1.0.0`, '--env', 'qa'));
    }
    cliSucceeded(await as(admin, 'plugin', 'publish', helloPluginCopy(work, 'acme/alpha', '1.1.0')));
    cliSucceeded(await as(admin, 'plugin', 'publish', helloPluginCopy(work, 'acme/alpha', '1.2.0')));
    cliSucceeded(await as(admin, 'env', 'set', 'qa', '--gated-from', 'staging', '--approvals', '0'));
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('review list - a plugin installed where reviews apply is due once the interval has passed since its installation, and not yet overdue', async () => {
    const alpha = await eventually(async () => {
      const list = cliSucceeded<ReviewList>(await as(releaseManager, 'review', 'list'));
      expect(list).toMatchObject({ intervalSeconds: 3, graceSeconds: 3600 });
      return list.plugins.find((p) => p.name === 'acme/alpha' && p.environment === 'qa');
    }, 'acme/alpha due in qa');
    expect(alpha).toMatchObject({ status: 'due', version: '1.0.0', lastReview: null });
    expect(Date.parse(alpha.dueAt) - Date.parse(alpha.installedAt)).toBe(3_000);
    expect(Date.parse(alpha.overdueAt) - Date.parse(alpha.dueAt)).toBe(3_600_000);
    expect(alpha.reasons).toEqual([expect.stringContaining('the review interval (3s) has passed since its installation')]);
    expect(await overdue()).toEqual([]);
    // Due is not overdue: the upgrade is not held (qa is gated, so it is an emergency change, which itself makes the plugin overdue).
    cliSucceeded(await as(admin, 'plugin', 'upgrade', 'acme/alpha@1.1.0', '--env', 'qa', '--emergency', '--reason', 'hotfix'));
    // plugin show prints the review status under the plugin.
    const shown = await runCli(platform.apiUrl, ['plugin', 'show', 'acme/alpha'], { token: releaseManager });
    expect(shown.stdout).toContain('review: never reviewed');
    expect(shown.stdout).toContain('qa: OVERDUE');
  });

  it('incident record - a minor incident is recorded and forces no review; a major one naming a plugin makes it overdue at once', async () => {
    const minor = cliSucceeded<{ forcesReview: boolean; severity: string; plugins: string[] }>(
      await as(releaseManager, 'incident', 'record', '--severity', 'minor', '--summary', 'slow responses from beta', '--plugins', 'acme/beta'),
    );
    expect(minor).toMatchObject({ severity: 'minor', plugins: ['acme/beta'], forcesReview: false });
    expect((await overdue()).map((p) => p.name)).not.toContain('acme/beta');

    const major = cliSucceeded<{ forcesReview: boolean }>(
      await as(admin, 'incident', 'record', '--severity', 'major', '--summary', 'personal data in alpha logs', '--plugins', 'acme/alpha'),
    );
    expect(major.forcesReview).toBe(true);
    const list = await overdue();
    expect(list.map((p) => p.name)).toEqual(['acme/alpha']);
    expect(list[0].reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^a major incident was recorded on .* by adm-1: personal data in alpha logs$/)]));
  });

  it('incident record - a name never published is refused, and the developer may not record incidents', async () => {
    const typo = cliRefusal(await as(releaseManager, 'incident', 'record', '--severity', 'major', '--summary', 'x', '--plugins', 'acme/alhpa'));
    expect(typo.code).toBe('REGISTRY.PLUGIN_NOT_FOUND');
    expect(typo.message).toContain('acme/alhpa');
    expect(cliRefusal(await as(developer, 'incident', 'record', '--severity', 'major', '--summary', 'x', '--all')).code).toBe('AUTHZ.DENIED');
    expect(cliRefusal(await as(developer, 'regulation', 'record', '--summary', 'x', '--all')).code).toBe('AUTHZ.DENIED');
  });

  it('plugin upgrade - the upgrade of an overdue plugin in a gated environment is refused with REVIEW.REQUIRED (CLI and HTTP)', async () => {
    const refused = cliRefusal(await as(admin, 'plugin', 'upgrade', 'acme/alpha@1.2.0', '--env', 'qa', '--emergency', '--reason', 'hotfix'));
    const codes = [refused.code, ...(((refused.details as { codes?: string[] } | undefined)?.codes) ?? [])];
    expect(codes).toContain('REVIEW.REQUIRED');
    expect(refused.message).toContain('forgeone plugin review acme/alpha');
    const reply = await http(admin, 'PUT', '/v1/environments/qa/installations/acme/alpha', { version: '1.2.0', emergency: { reason: 'hotfix' } });
    expect(reply.status).toBe(409);
    expect(((await reply.json()) as { error: { code: string } }).error.code).toBe('REVIEW.REQUIRED');
    expect((await statusOf('acme/alpha')).version).toBe('1.1.0');
  });

  it('plugin review - the publisher may not review, the developer may not; changes-required keeps it overdue; approved clears it', async () => {
    expect(cliRefusal(await as(admin, 'plugin', 'review', 'acme/alpha', '--outcome', 'approved', '--notes', 'mine, looks fine')).code).toBe('REVIEW.SELF_REVIEW');
    expect(cliRefusal(await as(developer, 'plugin', 'review', 'acme/alpha', '--outcome', 'approved', '--notes', 'fine')).code).toBe('AUTHZ.DENIED');

    cliSucceeded(await as(releaseManager, 'plugin', 'review', 'acme/alpha', '--outcome', 'changes-required', '--notes', 'log redaction missing'));
    expect((await statusOf('acme/alpha')).status).toBe('overdue');
    expect(cliRefusal(await as(admin, 'plugin', 'upgrade', 'acme/alpha@1.2.0', '--env', 'qa', '--emergency', '--reason', 'hotfix')).code).toBe('REVIEW.REQUIRED');

    const approved = await http(releaseManager, 'POST', '/v1/plugins/acme/alpha/reviews', { outcome: 'approved', notes: 'redaction added in 1.2.0; grants unchanged' });
    expect(approved.status).toBe(201);
    const alpha = await statusOf('acme/alpha');
    expect(alpha.status).not.toBe('overdue');
    expect(alpha.lastReview).toMatchObject({ outcome: 'approved', by: 'rm-1' });
    expect(await overdue()).toEqual([]);
    cliSucceeded(await as(admin, 'plugin', 'upgrade', 'acme/alpha@1.2.0', '--env', 'qa', '--emergency', '--reason', 'hotfix'));
  });

  it('regulation record - a regulation change for all plugins makes every installed plugin overdue', async () => {
    const reply = await http(releaseManager, 'POST', '/v1/regulations', { summary: 'new retention rule for personal data', all: true });
    expect(reply.status).toBe(201);
    expect(await reply.json()).toMatchObject({ kind: 'regulation', all: true, forcesReview: true });
    const list = await overdue();
    expect(list.map((p) => p.name)).toEqual(['acme/alpha', 'acme/beta', 'acme/gamma']);
    for (const plugin of list) expect(plugin.reasons).toEqual(expect.arrayContaining([expect.stringContaining('a regulation change was recorded')]));
    const both = await as(releaseManager, 'regulation', 'record', '--summary', 'x', '--all', '--plugins', 'acme/beta');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--plugins and --all contradict each other');
  });

  it('audit log and plugin history - every review, incident and regulation change with its actor', async () => {
    const entries = await eventually(async () => {
      const entries = await wholeAuditLog<AuditEntry>((...args) => as(admin, ...args));
      return entries.filter((e) => e.type === 'io.forgeone.regulation.recorded.v1').length === 1 ? entries : undefined;
    }, 'the regulation change in the audit log');
    const of = (type: string) => entries.filter((e) => e.type === type).map((e) => ({ actor: e.actor, ...e.data }));
    expect(of('io.forgeone.review.recorded.v1')).toEqual([
      expect.objectContaining({ actor: 'rm-1', name: 'acme/alpha', outcome: 'changes-required', notes: 'log redaction missing' }),
      expect.objectContaining({ actor: 'rm-1', name: 'acme/alpha', outcome: 'approved' }),
    ]);
    expect(of('io.forgeone.incident.recorded.v1')).toEqual([
      expect.objectContaining({ actor: 'rm-1', severity: 'minor', plugins: ['acme/beta'], all: false }),
      expect.objectContaining({ actor: 'adm-1', severity: 'major', plugins: ['acme/alpha'], all: false }),
    ]);
    expect(of('io.forgeone.regulation.recorded.v1')).toEqual([expect.objectContaining({ actor: 'rm-1', all: true, plugins: [] })]);

    const history = cliSucceeded<{ events: AuditEntry[] }>(await as(releaseManager, 'plugin', 'history', 'acme/alpha')).events.map((e) => e.type);
    expect(history).toEqual(expect.arrayContaining(['io.forgeone.review.recorded.v1', 'io.forgeone.incident.recorded.v1', 'io.forgeone.regulation.recorded.v1']));
    // The minor incident names beta only.
    const beta = cliSucceeded<{ events: AuditEntry[] }>(await as(releaseManager, 'plugin', 'history', 'acme/beta')).events;
    expect(beta.filter((e) => e.type === 'io.forgeone.incident.recorded.v1').map((e) => e.data.severity)).toEqual(['minor']);
  });
});
