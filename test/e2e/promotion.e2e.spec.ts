import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  wholeAuditLog,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The release process on the running platform, through the CLI and the HTTP API: a developer publishes and tests
// in staging, an approver approves, a release manager promotes into production (gated by default); every gate
// that does not hold is named in one refusal; a plain install into production is refused, an emergency change
// is recorded with its reason.

const PLUGIN = 'acme/greeter';
const INSTALLED = 'io.forgeone.plugin.installed.v1';
const UPGRADED = 'io.forgeone.plugin.upgraded.v1';
const APPROVED = 'io.forgeone.approval.version_approved.v1';

interface Gate {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}
interface AuditEntry {
  sequence: number;
  type: string;
  actor: string;
  data: Record<string, unknown> & { environment?: string; version?: string };
}

/** examples/plugins/hello as a module; `heavy` spins and grows memory before it answers (a flagged regression). */
async function helloModule(heavy: boolean): Promise<Uint8Array> {
  let source = readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'plugin.wat'), 'utf8');
  if (heavy) {
    const locals = '    (local $out i32)\n    (local $outLen i32)\n';
    if (!source.includes(locals)) throw new Error('the hello source changed: adapt the heavy fixture');
    source = source.replace(
      locals,
      `${locals}    (local $i i32)
    (local.set $i (i32.const 40000))
    (block $spun (loop $spin
      (br_if $spun (i32.eqz (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br $spin)))
    (drop (memory.grow (i32.const 8)))
`,
    );
  }
  const wabt = await wabtInit();
  const module = wabt.parseWat('plugin.wat', source);
  try {
    module.resolveNames();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

describe('promotion - gated production, separation of duties, every unmet gate named', () => {
  const namespace = testNamespace('e2e-promotion');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-promotion-'));
  const keys = join(work, 'keys');
  let db: TestDatabase;
  let platform: TestPlatform;
  let developer: string;
  let releaseManager: string;
  let approver: string;
  let admin: string;
  let admin2: string;
  const as = (token: string | undefined, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], token ? { token } : {});
  const http = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const gatesOf = (refusal: { code: string; details?: Record<string, unknown> }) => {
    expect(refusal.code).toBe('PROMOTION.GATES_UNMET');
    return (refusal.details!.gates as Gate[]).map((g) => g.code);
  };
  const promote = (token: string, version: string, ...more: string[]) => as(token, 'plugin', 'promote', `${PLUGIN}@${version}`, '--from', 'staging', '--to', 'production', ...more);
  const audit = () => wholeAuditLog<AuditEntry>((...args) => as(admin, ...args), '--plugin', PLUGIN);

  /** Publishes a version of acme/greeter with `tests` as its vectors, signed with the tenant's trusted key unless `unsigned`. */
  async function publish(version: string, options: { tests?: { handler: string; input: string; expect: string }[]; heavy?: boolean; unsigned?: boolean; as?: string; name?: string } = {}) {
    const name = options.name ?? PLUGIN;
    const manifest = JSON.parse(readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    const dir = join(work, `${name.replace('/', '-')}-${version}`);
    mkdirSync(dir);
    const tests = options.tests ?? [{ handler: 'greet', input: 'world', expect: 'hello, world' }];
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, name, version, tests }, null, 2));
    writeFileSync(join(dir, 'plugin.wasm'), await helloModule(options.heavy === true));
    if (!options.unsigned) cliSucceeded(await as(undefined, 'plugin', 'sign', dir, '--key', join(keys, 'private.pem')));
    cliSucceeded(await as(options.as ?? developer, 'plugin', 'publish', dir));
  }

  beforeAll(async () => {
    db = await createTestDatabase('fo_promotion');
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_TEST_REGRESSION_FACTOR: '1.5' } });
    const token = (principal: string, role: string) => createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant: 'acme' }).then((t) => t.token);
    developer = await token('dev-1', 'developer');
    releaseManager = await token('rm-1', 'release-manager');
    approver = await token('app-1', 'approver');
    admin = await token('adm-1', 'admin');
    admin2 = await token('adm-2', 'admin');
    cliSucceeded(await as(undefined, 'keys', 'generate', '--out', keys));
    cliSucceeded(await as(admin, 'keys', 'trust', join(keys, 'public.pem'), '--publisher', 'acme'));
    await publish('1.0.0');
    cliSucceeded(await as(developer, 'plugin', 'install', `${PLUGIN}@1.0.0`, '--env', 'staging'));
    // A platform start, six tokens and a key take minutes on a loaded machine.
  }, 480_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('a plain install or upgrade into production is refused naming promote; production is gated by default', async () => {
    const show = cliSucceeded<{ settings: { gated: boolean; promotedFrom: string; approvals: number } }>(await as(admin, 'env', 'show', 'production'));
    expect(show.settings).toMatchObject({ gated: true, promotedFrom: 'staging', approvals: 1 });
    const refused = cliRefusal(await as(releaseManager, 'plugin', 'install', `${PLUGIN}@1.0.0`, '--env', 'production'));
    expect(refused.code).toBe('REGISTRY.GATED_ENVIRONMENT');
    expect(refused.message).toContain(`forgeone plugin promote ${PLUGIN}@1.0.0`);
    const response = await http(admin, 'POST', '/v1/environments/production/installations', { name: PLUGIN, version: '1.0.0' });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('REGISTRY.GATED_ENVIRONMENT');
  });

  it('the promotion of an untested version names its missing test run and approvals together, and nothing is installed', async () => {
    const refusal = cliRefusal(await promote(releaseManager, '1.0.0'));
    expect(gatesOf(refusal)).toEqual(['PROMOTION.TEST_RUN_MISSING', 'PROMOTION.APPROVALS']);
    // The CLI prints every gate on its own line.
    const human = await runCli(platform.apiUrl, ['plugin', 'promote', `${PLUGIN}@1.0.0`, '--from', 'staging', '--to', 'production'], { token: releaseManager });
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/\(PROMOTION\.GATES_UNMET\)\n {2}- PROMOTION\.TEST_RUN_MISSING: [^\n]+\n {2}- PROMOTION\.APPROVALS: [^\n]+\n/);
    const list = cliSucceeded<{ plugins: unknown[] }>(await as(admin, 'plugin', 'list', '--env', 'production'));
    expect(list.plugins).toEqual([]);
  });

  it('a publisher approving their own version is refused; a developer may not approve at all', async () => {
    await publish('0.9.0', { as: admin, name: 'acme/own' });
    const own = cliRefusal(await as(admin, 'plugin', 'approve', 'acme/own@0.9.0', '--env', 'production'));
    expect(own.code).toBe('APPROVAL.OWN_VERSION');
    expect(own.message).toContain('nobody approves their own change');
    expect(cliRefusal(await as(developer, 'plugin', 'approve', `${PLUGIN}@1.0.0`, '--env', 'production')).code).toBe('AUTHZ.DENIED');
    // Approvals are for gated environments.
    expect(cliRefusal(await as(approver, 'plugin', 'approve', `${PLUGIN}@1.0.0`, '--env', 'staging')).code).toBe('APPROVAL.NOT_GATED');
  });

  it('the promoter approving and promoting alone is refused, as is an approver holding a token the promoter issued', async () => {
    cliSucceeded(await as(developer, 'plugin', 'test', `${PLUGIN}@1.0.0`, '--env', 'staging'));
    cliSucceeded(await as(admin, 'plugin', 'approve', `${PLUGIN}@1.0.0`, '--env', 'production'));
    const alone = cliRefusal(await promote(admin, '1.0.0', '--dry-run'));
    expect(gatesOf(alone)).toEqual(['PROMOTION.APPROVALS']);
    expect((alone.details!.gates as Gate[])[0].details).toMatchObject({ required: 1, counted: [], notCounted: ['adm-1'] });
    // adm-1 issues a token to a colleague, who approves: not a second pair of eyes for adm-1's promotion.
    const colleague = (await createTokenWithCli(platform.apiUrl, admin, { principal: 'app-2', role: 'approver' })).token;
    cliSucceeded(await as(colleague, 'plugin', 'approve', `${PLUGIN}@1.0.0`, '--env', 'production', '--notes', 'looks fine to me'));
    const issued = cliRefusal(await promote(admin, '1.0.0', '--dry-run'));
    expect((issued.details!.gates as Gate[])[0]).toMatchObject({ code: 'PROMOTION.APPROVALS', details: { counted: [], notCounted: ['adm-1', 'app-2'] } });
  });

  it('promote - an approver approves, a release manager promotes: installed in production with what it relied on', async () => {
    const approval = cliSucceeded<{ decision: string; outcome: string; eventId: string }>(
      await as(approver, 'plugin', 'approve', `${PLUGIN}@1.0.0`, '--env', 'production', '--notes', 'staging run clean'),
    );
    expect(approval).toMatchObject({ decision: 'approved', outcome: 'recorded' });
    const dry = cliSucceeded<{ dryRun: boolean; eventId: null }>(await promote(releaseManager, '1.0.0', '--dry-run'));
    expect(dry).toMatchObject({ dryRun: true, eventId: null });
    const promoted = cliSucceeded<{ environment: string; promotion: { from: string; approvals: { principal: string }[]; testRunId: string }; projected: boolean }>(
      await promote(releaseManager, '1.0.0'),
    );
    expect(promoted).toMatchObject({ environment: 'production', projected: true, promotion: { from: 'staging' } });
    expect(promoted.promotion.approvals.map((a) => a.principal).sort()).toEqual(['adm-1', 'app-1', 'app-2']);
    const show = cliSucceeded<{ installations: { environment: string; version: string; status: string }[] }>(await as(developer, 'plugin', 'show', PLUGIN));
    expect(show.installations).toEqual(expect.arrayContaining([expect.objectContaining({ environment: 'production', version: '1.0.0', status: 'installed' })]));
    const entries = await audit();
    expect(entries.find((e) => e.type === INSTALLED && e.data.environment === 'production')).toMatchObject({
      actor: 'rm-1',
      data: { promotion: { from: 'staging', testRunId: promoted.promotion.testRunId } },
    });
    expect(entries.filter((e) => e.type === APPROVED).map((e) => e.actor)).toEqual(expect.arrayContaining(['app-1', 'app-2', 'adm-1']));
    expect(entries.find((e) => e.type === APPROVED && e.actor === 'app-1')).toMatchObject({ data: { notes: 'staging run clean', version: '1.0.0' } });
  });

  it('a different digest in staging, no test run there and a missing signature are all named at once; HTTP answers the same gates', async () => {
    // 1.1.0 is another module (another digest) than the 1.0.0 staging still runs, and unsigned.
    await publish('1.1.0', { unsigned: true, heavy: true });
    cliSucceeded(await as(approver, 'plugin', 'approve', `${PLUGIN}@1.1.0`, '--env', 'production'));
    const refusal = cliRefusal(await promote(releaseManager, '1.1.0'));
    expect(gatesOf(refusal)).toEqual(['PROMOTION.NOT_IN_SOURCE', 'PROMOTION.TEST_RUN_MISSING', 'PROMOTION.SIGNATURE']);
    const response = await http(releaseManager, 'POST', '/v1/environments/production/promotions', { name: PLUGIN, version: '1.1.0', from: 'staging' });
    expect(response.status).toBe(409);
    const body = (await response.json()) as { error: { code: string; details: { gates: Gate[] } } };
    expect(body.error.code).toBe('PROMOTION.GATES_UNMET');
    expect(body.error.details.gates.map((g) => g.code)).toEqual(['PROMOTION.NOT_IN_SOURCE', 'PROMOTION.TEST_RUN_MISSING', 'PROMOTION.SIGNATURE']);
    // The wrong source and an ungated target are gates too.
    const wrong = cliRefusal(await as(releaseManager, 'plugin', 'promote', `${PLUGIN}@1.0.0`, '--from', 'qa', '--to', 'production'));
    expect(gatesOf(wrong)).toEqual(['PROMOTION.WRONG_SOURCE', 'PROMOTION.TARGET', 'PROMOTION.NOT_IN_SOURCE', 'PROMOTION.TEST_RUN_MISSING']);
    const ungated = cliRefusal(await as(admin, 'plugin', 'promote', `${PLUGIN}@1.0.0`, '--from', 'staging', '--to', 'qa'));
    expect(gatesOf(ungated)[0]).toBe('PROMOTION.NOT_GATED');
  });

  it('a test run failing a vector blocks the promotion; a rejection blocks it too', async () => {
    await publish('1.2.0', { tests: [{ handler: 'greet', input: 'world', expect: 'bonjour, world' }] });
    cliSucceeded(await as(developer, 'plugin', 'upgrade', `${PLUGIN}@1.2.0`, '--env', 'staging'));
    const run = await as(developer, 'plugin', 'test', `${PLUGIN}@1.2.0`, '--env', 'staging');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ passed: false });
    cliSucceeded(await as(approver, 'plugin', 'approve', `${PLUGIN}@1.2.0`, '--env', 'production'));
    expect(gatesOf(cliRefusal(await promote(releaseManager, '1.2.0')))).toEqual(['PROMOTION.TEST_RUN_FAILED']);
    cliSucceeded(await as(admin2, 'plugin', 'reject', `${PLUGIN}@1.2.0`, '--env', 'production', '--notes', 'greets in French'));
    const both = cliRefusal(await promote(releaseManager, '1.2.0'));
    expect(gatesOf(both)).toEqual(['PROMOTION.TEST_RUN_FAILED', 'PROMOTION.REJECTED']);
    expect((both.details!.gates as Gate[])[1].message).toContain('greets in French');
  });

  it('flagged regressions must be accepted by the approval; the soak time holds the promotion; then production is upgraded', async () => {
    await publish('1.3.0', { heavy: true });
    cliSucceeded(await as(developer, 'plugin', 'upgrade', `${PLUGIN}@1.3.0`, '--env', 'staging'));
    const run = cliSucceeded<{ runId: string; flagged: boolean; passed: boolean }>(await as(developer, 'plugin', 'test', `${PLUGIN}@1.3.0`, '--env', 'staging'));
    expect(run).toMatchObject({ passed: true, flagged: true });
    const unaccepted = cliRefusal(await as(approver, 'plugin', 'approve', `${PLUGIN}@1.3.0`, '--env', 'production'));
    expect(unaccepted.code).toBe('APPROVAL.REGRESSIONS_NOT_ACCEPTED');
    expect(unaccepted.message).toContain('--accept-regressions');
    cliSucceeded(await as(approver, 'plugin', 'approve', `${PLUGIN}@1.3.0`, '--env', 'production', '--accept-regressions'));

    // A soak time of an hour: 1.3.0 has run in staging for seconds. Shortening it again takes two administrators.
    cliSucceeded(await as(admin, 'env', 'set', 'production', '--soak', '1h'));
    expect(gatesOf(cliRefusal(await promote(releaseManager, '1.3.0', '--dry-run')))).toEqual(['PROMOTION.SOAK']);
    cliSucceeded(await as(admin, 'env', 'set', 'production', '--soak', '0'));
    cliSucceeded(await as(admin2, 'env', 'confirm', 'production'));

    const promoted = cliSucceeded<{ promotion: { acceptedRegressionsRunId?: string } }>(await promote(releaseManager, '1.3.0'));
    expect(promoted.promotion.acceptedRegressionsRunId).toBe(run.runId);
    const upgrade = (await audit()).find((e) => e.type === UPGRADED && e.data.environment === 'production');
    expect(upgrade).toMatchObject({ actor: 'rm-1', data: { fromVersion: '1.0.0', version: '1.3.0', promotion: { from: 'staging', acceptedRegressionsRunId: run.runId } } });
  });

  it('an emergency change: its own permission, never skips the signature check, recorded with actor and reason, and the plugin then needs a review', async () => {
    await publish('1.4.0', { unsigned: true });
    await publish('1.5.0');
    const emergency = ['--emergency', '--reason', 'hotfix for the invoice outage'];
    expect(cliRefusal(await as(developer, 'plugin', 'upgrade', `${PLUGIN}@1.5.0`, '--env', 'production', ...emergency)).code).toBe('AUTHZ.DENIED');
    expect(cliRefusal(await as(releaseManager, 'plugin', 'upgrade', `${PLUGIN}@1.4.0`, '--env', 'production', ...emergency)).code).toBe('SIGNATURE.MISSING');
    const usage = await runCli(platform.apiUrl, ['plugin', 'upgrade', `${PLUGIN}@1.5.0`, '--env', 'production', '--emergency'], { token: releaseManager });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--emergency needs --reason');
    cliSucceeded(await as(releaseManager, 'plugin', 'upgrade', `${PLUGIN}@1.5.0`, '--env', 'production', ...emergency));
    const entry = (await audit()).find((e) => e.type === UPGRADED && e.data.version === '1.5.0');
    expect(entry).toMatchObject({ actor: 'rm-1', data: { environment: 'production', emergency: { reason: 'hotfix for the invoice outage' } } });
    expect(entry!.data).not.toHaveProperty('promotion');
    // --emergency where nothing is gated is a mistake, said as such.
    expect(cliRefusal(await as(releaseManager, 'plugin', 'upgrade', `${PLUGIN}@1.5.0`, '--env', 'staging', ...emergency)).code).toBe('COMMAND.INVALID');
    expect(gatesOf(cliRefusal(await promote(releaseManager, '1.3.0', '--dry-run')))).toContain('PROMOTION.REVIEW_REQUIRED');
  });
}, 600_000);

describe('promotion - a stale test run, failing calls in the source and a version not in the source are each named by their gate', () => {
  const namespace = testNamespace('e2e-promotion-gates');
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-promotion-gates-'));
  const NAME = 'forgeone/greeter-config';
  // Seconds: short enough to wait out in the test, and the failure rate a promotion accepts.
  const MAX_AGE_S = 3;
  let db: TestDatabase;
  let platform: TestPlatform;
  let admin: string;
  let admin2: string;
  let releaseManager: string;
  let approver: string;
  const as = (token: string | undefined, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], token ? { token } : {});
  const promote = (name: string, version: string) => as(releaseManager, 'plugin', 'promote', `${name}@${version}`, '--from', 'staging', '--to', 'production', '--dry-run');
  const gatesOf = (refusal: { code: string; details?: Record<string, unknown> }) => {
    expect(refusal.code).toBe('PROMOTION.GATES_UNMET');
    return refusal.details!.gates as Gate[];
  };

  beforeAll(async () => {
    db = await createTestDatabase('fo_promotion_gates');
    platform = await startTestPlatform({
      namespace,
      databaseUrl: db.url,
      env: { FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S: String(MAX_AGE_S), FORGEONE_PROMOTION_MAX_FAILURE_RATE: '0.2' },
      // Starting the platform takes minutes on a loaded machine.
      timeoutMs: 300_000,
    });
    const token = (principal: string, role: string) => createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant: 'acme' }).then((t) => t.token);
    admin = await token('adm-1', 'admin');
    admin2 = await token('adm-2', 'admin');
    releaseManager = await token('rm-1', 'release-manager');
    approver = await token('app-1', 'approver');
    // Unsigned examples: production in audit mode (a weakening, confirmed by a second administrator), so the
    // signature gate holds and the gates under test are the only ones unmet.
    cliSucceeded(await as(admin, 'env', 'set', 'production', '--mode', 'audit'));
    cliSucceeded(await as(admin2, 'env', 'confirm', 'production'));
    // Every call recorded as it happens, so the registry sees the failures without waiting for a window.
    cliSucceeded(await as(admin, 'call-recording', 'per-call', '--env', 'staging'));
    const dir = join(work, 'greeter-config');
    cpSync(join(repoRoot(), 'examples', 'plugins', 'greeter-config'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, tests: [{ handler: 'token_matches', input: 'x', expect: 'unset' }] }, null, 2));
    cliSucceeded(await as(admin, 'plugin', 'publish', dir));
    cliSucceeded(await as(admin, 'plugin', 'install', `${NAME}@1.0.0`, '--env', 'staging'));
    cliSucceeded(await as(approver, 'plugin', 'approve', `${NAME}@1.0.0`, '--env', 'production'));
  }, 480_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it(`a test run older than FORGEONE_PROMOTION_TEST_RUN_MAX_AGE_S (${MAX_AGE_S} s) is refused as PROMOTION.TEST_RUN_STALE`, async () => {
    const run = cliSucceeded<{ runId: string; passed: boolean }>(await as(admin, 'plugin', 'test', `${NAME}@1.0.0`, '--env', 'staging'));
    expect(run.passed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, (MAX_AGE_S + 2) * 1000));
    const gates = gatesOf(cliRefusal(await promote(NAME, '1.0.0')));
    expect(gates.map((g) => g.code)).toEqual(['PROMOTION.TEST_RUN_STALE']);
    expect(gates[0]).toMatchObject({ details: { runId: run.runId, maxAgeSeconds: MAX_AGE_S }, message: expect.stringContaining('run the tests again') });
  });

  it('calls failing in the source above FORGEONE_PROMOTION_MAX_FAILURE_RATE hold the promotion as PROMOTION.SOAK', async () => {
    // greet fails in the plugin while staging has no greeting configured; token_matches answers.
    for (let i = 0; i < 3; i++) expect(cliRefusal(await as(releaseManager, 'plugin', 'call', NAME, 'greet', '--env', 'staging', '--input', 'ada')).code).toBe('SANDBOX.GUEST_ERROR');
    expect(cliSucceeded<{ output: string }>(await as(releaseManager, 'plugin', 'call', NAME, 'token_matches', '--env', 'staging', '--input', 'x')).output).toBe('unset');
    let gates: Gate[] = [];
    // The runner records each call on its own; the registry counts what it has recorded at the question.
    await eventually(async () => {
      gates = gatesOf(cliRefusal(await promote(NAME, '1.0.0')));
      return gates.some((g) => g.code === 'PROMOTION.SOAK');
    }, 'the failed calls counted by the promotion');
    expect(gates.map((g) => g.code)).toEqual(['PROMOTION.TEST_RUN_STALE', 'PROMOTION.SOAK']);
    // The four calls above (the test run's own vector call may be counted too, and it passed).
    expect(gates[1]).toMatchObject({ details: { failed: 3, maxFailureRate: 0.2 }, message: expect.stringMatching(/^3 of \d+ calls/) });
    expect((gates[1].details as { calls: number }).calls).toBeGreaterThanOrEqual(4);
  });

  it('a version not installed in the source environment is refused as PROMOTION.NOT_IN_SOURCE', async () => {
    const dir = join(work, 'elsewhere');
    mkdirSync(dir);
    const manifest = JSON.parse(readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, name: 'acme/elsewhere', version: '1.0.0' }, null, 2));
    writeFileSync(join(dir, 'plugin.wasm'), await helloModule(false));
    cliSucceeded(await as(admin, 'plugin', 'publish', dir));
    cliSucceeded(await as(approver, 'plugin', 'approve', 'acme/elsewhere@1.0.0', '--env', 'production'));
    const gates = gatesOf(cliRefusal(await promote('acme/elsewhere', '1.0.0')));
    expect(gates.map((g) => g.code)).toEqual(['PROMOTION.NOT_IN_SOURCE', 'PROMOTION.TEST_RUN_MISSING']);
    expect(gates[0].message).toContain('staging');
  });
}, 600_000);
