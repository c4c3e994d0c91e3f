import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  wholeAuditLog,
  type CliRun,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Exported {
  out: string;
  framework: string;
  files: number;
  manifestDigest: string;
  checkpointTreeSize: number;
  recordedAt: number;
}
interface Verified {
  ok: boolean;
  files: number;
  proofs: number;
  failure?: { file: string; reason: string };
}

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-evidence-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
const allFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));

describe('evidence export - an auditor exports SOC 2, ISO 27001 and GDPR evidence and verifies it offline', () => {
  const namespace = testNamespace('e2e-evidence');
  let db: TestDatabase;
  let platform: TestPlatform;
  const tokens: Record<string, string> = {};
  const as = (token: string | undefined, ...args: string[]): Promise<CliRun> =>
    runCli(platform.apiUrl, [...args, '--json'], { ...(token !== undefined ? { token } : {}), env: { HOME: work, XDG_CONFIG_HOME: join(work, 'config') } });
  const keyFile = join(work, 'audit-key.pem');
  const exportTo = (name: string, framework: string, token = tokens['acmeAuditor']!) => as(token, 'audit', 'export', '--framework', framework, '--from', day(-1), '--to', day(1), '--out', join(work, name));

  beforeAll(async () => {
    db = await createTestDatabase('fo_evidence');
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_AUDIT_CHECKPOINT_EVENTS: '2', FORGEONE_AUDIT_CHECKPOINT_INTERVAL_MS: '1000' } });
    for (const [key, principal, role, tenant] of [
      ['acmeAdmin', 'adm-a', 'admin', 'acme'],
      ['acmeAuditor', 'aud-a', 'auditor', 'acme'],
      ['acmeDeveloper', 'dev-a', 'developer', 'acme'],
      ['globexAdmin', 'adm-g', 'admin', 'globex'],
      ['globexDeveloper', 'dev-g', 'developer', 'globex'],
    ] as const) {
      tokens[key] = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant })).token;
    }
    // Real traffic in both tenants: unsigned versions installed (flagged) in staging, calls, and denials.
    for (const [tenant, admin, developer] of [
      ['acme', tokens['acmeAdmin']!, tokens['acmeDeveloper']!],
      ['globex', tokens['globexAdmin']!, tokens['globexDeveloper']!],
    ] as const) {
      cliSucceeded(await as(admin, 'plugin', 'publish', helloPluginCopy(work, `${tenant}/hello`)));
      cliSucceeded(await as(admin, 'plugin', 'install', `${tenant}/hello@1.0.0`, '--env', 'staging'));
      cliSucceeded(await as(admin, 'plugin', 'call', `${tenant}/hello`, 'greet', '--env', 'staging', '--input', 'auditor'));
      expect(cliRefusal(await as(developer, 'audit', 'log')).code).toBe('AUTHZ.DENIED');
    }
    cliSucceeded(await as(tokens['acmeAuditor'], 'audit', 'key', '--out', keyFile));
    // A checkpoint that covers the traffic, so samples carry proofs.
    const last = await eventually(async () => {
      const entries = await wholeAuditLog<{ sequence: number; type: string }>((...args) => as(tokens['acmeAuditor'], ...args));
      return entries.some((e) => e.type === 'io.forgeone.policy.decision_recorded.v1') ? entries.at(-1)!.sequence : undefined;
    }, "acme's denial in the audit log", 60_000);
    await eventually(async () => {
      const checkpoint = cliSucceeded<{ treeSize: number }>(await as(tokens['acmeAuditor'], 'audit', 'checkpoint'));
      return checkpoint.treeSize >= last ? checkpoint : undefined;
    }, 'a checkpoint covering the traffic', 60_000);
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('evidence - each framework exports after real traffic, verify-export passes, and each export is in the audit log', { timeout: 180_000 }, async () => {
    const exported: Exported[] = [];
    for (const framework of ['soc2', 'iso27001', 'gdpr']) {
      const reply = cliSucceeded<Exported>(await exportTo(`acme-${framework}`, framework));
      expect(reply).toMatchObject({ framework, files: expect.any(Number), manifestDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      exported.push(reply);
      const verified = cliSucceeded<Verified>(await as(undefined, 'audit', 'verify-export', reply.out, '--key', keyFile));
      expect(verified).toMatchObject({ ok: true, files: reply.files });
      expect(verified.proofs).toBeGreaterThan(0);
      const files = allFiles(reply.out);
      expect(files).toEqual(expect.arrayContaining(['index.html', 'manifest.json', 'manifest.dsse.json', 'checkpoint.json', 'controls.json']));
      expect(files.length).toBe(reply.files + 2);
    }
    const soc2 = join(work, 'acme-soc2');
    const index = readFileSync(join(soc2, 'index.html'), 'utf8');
    for (const control of ['CC6.1', 'CC6.2', 'CC6.3', 'CC6.6', 'CC6.8', 'CC7.2', 'CC7.3', 'CC8.1']) expect(index).toContain(`<b>${control}</b>`);
    // The unsigned install in staging (audit mode) and the developer's denial are exceptions, highlighted.
    expect(index).toMatch(/unsigned-or-rejected: \d+ exception rows/);
    expect(index).toMatch(/policy-denials: \d+ exception rows/);
    const denials = readFileSync(join(soc2, 'queries', 'policy-denials', 'rows.csv'), 'utf8');
    expect(denials).toContain('dev-a');
    const population = JSON.parse(readFileSync(join(soc2, 'queries', 'policy-denials', 'population.json'), 'utf8')) as { rows: number; sql: string; rowsSha256: string };
    expect(population).toMatchObject({ rows: expect.any(Number), sql: expect.stringContaining('reporting.policy_denials_v1'), rowsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(population.rows).toBeGreaterThan(0);
    const iso = readFileSync(join(work, 'acme-iso27001', 'index.html'), 'utf8');
    for (const control of ['A.5.15', 'A.5.18', 'A.8.2', 'A.8.15', 'A.8.16', 'A.8.25', 'A.8.32']) expect(iso).toContain(`<b>${control}</b>`);
    expect(iso).toContain('2013: A.9.');
    expect(iso).toContain('2013: A.12.');
    const record = JSON.parse(readFileSync(join(work, 'acme-gdpr', 'record-of-processing.json'), 'utf8')) as { processingActivities: { counts: Record<string, number> }[] };
    expect(record.processingActivities[0]!.counts['principalsWithTokens']).toBeGreaterThan(0);

    // A tenant sees only its rows: nothing of globex in any of acme's files.
    for (const framework of ['soc2', 'iso27001', 'gdpr']) {
      const dir = join(work, `acme-${framework}`);
      for (const file of allFiles(dir)) expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/globex|dev-g|adm-g/);
    }

    // Each export is recorded with who, framework, period and the manifest's digest.
    const recorded = await eventually(async () => {
      const entries = await wholeAuditLog<{ sequence: number; type: string; actor: string; data: { framework: string; manifestDigest: string; exportedBy: string } }>((...args) =>
        as(tokens['acmeAuditor'], ...args),
      );
      const exports = entries.filter((e) => e.type === 'io.forgeone.audit.evidence_exported.v1');
      return exports.length >= 3 ? exports : undefined;
    }, 'the exports in the audit log');
    expect(recorded.map((e) => [e.actor, e.data.framework, e.data.manifestDigest, e.data.exportedBy])).toEqual(exported.map((x) => ['aud-a', x.framework, x.manifestDigest, 'aud-a']));
    expect(recorded.map((e) => e.sequence)).toEqual(exported.map((x) => x.recordedAt));
  });

  it('evidence - a changed CSV byte, manifest or proof is detected and the file named (exit 1)', { timeout: 120_000 }, async () => {
    const original = join(work, 'acme-soc2');
    const tampered = (name: string, change: (dir: string) => void) => {
      const dir = join(work, `tampered-${name}`);
      cpSync(original, dir, { recursive: true });
      change(dir);
      return dir;
    };
    const verify = async (dir: string) => {
      const run = await as(undefined, 'audit', 'verify-export', dir, '--key', keyFile);
      expect(run.code, run.stderr).toBe(1);
      return (JSON.parse(run.stdout) as Verified).failure!;
    };
    const csv = tampered('csv', (dir) => {
      const file = join(dir, 'queries', 'policy-denials', 'rows.csv');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace('dev-a', 'dev-b'));
    });
    expect(await verify(csv)).toMatchObject({ file: 'queries/policy-denials/rows.csv', reason: expect.stringContaining('sha256') });
    const manifest = tampered('manifest', (dir) => {
      const file = join(dir, 'manifest.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"framework":"soc2"', '"framework":"gdpr"'));
    });
    expect(await verify(manifest)).toMatchObject({ file: 'manifest.json' });
    const proof = tampered('proof', (dir) => {
      const file = join(dir, 'queries', 'policy-denials', 'sample.json');
      const sample = JSON.parse(readFileSync(file, 'utf8')) as { rows: { proof: { path: string[]; leafIndex: number } }[] };
      sample.rows[0]!.proof.leafIndex += 1;
      writeFileSync(file, JSON.stringify(sample, null, 2));
    });
    expect(await verify(proof)).toMatchObject({ file: 'queries/policy-denials/sample.json' });
    const extra = tampered('extra', (dir) => appendFileSync(join(dir, 'notes.txt'), 'added later'));
    expect(await verify(extra)).toMatchObject({ file: 'notes.txt', reason: expect.stringContaining('not listed') });
    // Another key than the audit key: the manifest's signature does not verify.
    const other = cliSucceeded<{ publicKey: string }>(await as(undefined, 'keys', 'generate', '--out', join(work, 'other')));
    const wrongKey = await as(undefined, 'audit', 'verify-export', original, '--key', other.publicKey);
    expect([wrongKey.code, (JSON.parse(wrongKey.stdout) as Verified).failure?.file]).toEqual([1, 'manifest.dsse.json']);
  });

  it('evidence - refused without export-evidence or a token; bad input is refused with nothing written', { timeout: 120_000 }, async () => {
    const developer = await exportTo('by-developer', 'soc2', tokens['acmeDeveloper']!);
    expect([developer.code, cliRefusal(developer).code]).toEqual([1, 'AUTHZ.DENIED']);
    expect(existsSync(join(work, 'by-developer'))).toBe(false);
    const anonymous = await runCli(platform.apiUrl, ['audit', 'export', '--framework', 'soc2', '--from', day(-1), '--to', day(1), '--out', join(work, 'anonymous'), '--json'], {
      env: { HOME: work, XDG_CONFIG_HOME: join(work, 'none') },
    });
    expect(cliRefusal(anonymous).code).toBe('AUTH.UNAUTHENTICATED');
    expect(existsSync(join(work, 'anonymous'))).toBe(false);
    const http = await fetch(`${platform.apiUrl}/v1/audit-log/evidence`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['acmeAuditor']}`, 'content-type': 'application/json', 'forgeone-tenant': 'globex' },
      body: JSON.stringify({ framework: 'soc2', from: day(-1), to: day(1) }),
    });
    expect([http.status, ((await http.json()) as { error: { code: string } }).error.code]).toEqual([403, 'AUTHZ.DENIED']);

    const usage = (run: CliRun) => [run.code, (JSON.parse(run.stderr) as { error: { message: string } }).error.message];
    const reversed = await as(tokens['acmeAuditor'], 'audit', 'export', '--framework', 'soc2', '--from', day(1), '--to', day(-1), '--out', join(work, 'reversed'));
    expect(usage(reversed)).toEqual([2, expect.stringContaining('after --to')]);
    expect(existsSync(join(work, 'reversed'))).toBe(false);
    const unknown = await exportTo('unknown', 'pci');
    expect(usage(unknown)).toEqual([2, expect.stringContaining('soc2, iso27001, gdpr')]);
    expect(existsSync(join(work, 'unknown'))).toBe(false);
    mkdirSync(join(work, 'occupied'));
    writeFileSync(join(work, 'occupied', 'keep.txt'), 'mine');
    const occupied = await exportTo('occupied', 'soc2');
    expect(usage(occupied)).toEqual([2, expect.stringContaining('not empty')]);
    expect(readdirSync(join(work, 'occupied'))).toEqual(['keep.txt']);
    const missing = await as(undefined, 'audit', 'verify-export', join(work, 'nowhere'), '--key', keyFile);
    expect(usage(missing)).toEqual([2, expect.stringContaining('not a folder')]);
  });
});
