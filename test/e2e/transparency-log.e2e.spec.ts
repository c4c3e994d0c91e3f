import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTestEventWriters,
  createTokenWithCli,
  eventually,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  type CreatedTestToken,
  type TestDatabase,
  type TestPlatform,
  TEST_NATS_URL,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// ---- An independent verifier (RFC 9162 §2.1.3.2, §2.1.4.2; C2SP signed-note), sharing no code with the platform. ----
const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const node = (l: Buffer, r: Buffer) => sha256(Uint8Array.of(1), l, r);

function inclusionRoot(index: number, size: number, leaf: Buffer, path: Buffer[]): Buffer | null {
  if (index >= size) return null;
  let [fn, sn, r] = [index, size - 1, leaf];
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else r = node(r, p);
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 ? r : null;
}

function consistencyHolds(m: number, n: number, oldRoot: Buffer, newRoot: Buffer, proof: Buffer[]): boolean {
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  if (proof.length === 0) return false;
  const path = (m & (m - 1)) === 0 ? [oldRoot, ...proof] : proof;
  let [fn, sn] = [m - 1, n - 1];
  while (fn % 2 === 1) [fn, sn] = [fn >> 1, sn >> 1];
  let [fr, sr] = [path[0]!, path[0]!];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      [fr, sr] = [node(c, fr), node(c, sr)];
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else sr = node(sr, c);
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}

/** The signed root of a checkpoint note, checked with node:crypto and the public key only. */
function signedRoot(note: string, origin: string, publicKeyPem: string): { size: number; root: Buffer } {
  const key = createPublicKey(publicKeyPem);
  const split = note.lastIndexOf('\n\n');
  const text = note.slice(0, split + 1);
  const [dash, name, b64] = note.slice(split + 2).trimEnd().split(' ');
  expect([dash, name]).toEqual(['\u2014', origin]);
  const sig = Buffer.from(b64!, 'base64');
  const raw = Buffer.from((key.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  expect(sig.subarray(0, 4)).toEqual(sha256(Buffer.from(origin), Uint8Array.of(0x0a, 0x01), raw).subarray(0, 4));
  expect(verify(null, Buffer.from(text), key, sig.subarray(4))).toBe(true);
  const [o, size, root] = text.split('\n');
  expect(o).toBe(origin);
  return { size: Number(size), root: Buffer.from(root!, 'base64') };
}

interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  note: string;
  sequence: number;
}
interface Proof {
  sequence: number;
  leaf: string;
  leafHash: string;
  leafIndex: number;
  treeSize: number;
  path: string[];
  checkpoint: Checkpoint;
}

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-tlog-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('transparency log - an auditor verifies rows with only the public key', () => {
  const namespace = testNamespace('e2e-tlog');
  const origin = `forgeone.local/audit/${namespace}`;
  let db: TestDatabase;
  let platform: TestPlatform;
  let acmeAuditor: CreatedTestToken;
  let globexAuditor: CreatedTestToken;
  let acmeDeveloper: CreatedTestToken;
  const get = async (path: string, token?: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${platform.apiUrl}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };
  const cli = (token: string, ...args: string[]) => runCli(platform.apiUrl, args, { token, env: { HOME: work, XDG_CONFIG_HOME: join(work, 'config') } });
  const rowsOf = async (token: string) => ((await get('/v1/audit-log?limit=1000', token)).body as { entries: { sequence: number; tenant: string }[] }).entries;

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_AUDIT_CHECKPOINT_EVENTS: '2', FORGEONE_AUDIT_CHECKPOINT_INTERVAL_MS: '1000' } });
    const issue = (principal: string, role: string, tenant: string) => createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal, role, tenant });
    [acmeAuditor, globexAuditor, acmeDeveloper] = [await issue('aud-a', 'auditor', 'acme'), await issue('aud-g', 'auditor', 'globex'), await issue('dev-a', 'developer', 'acme')];
    // A denial recorded in each tenant's log.
    expect((await get('/v1/audit-log', acmeDeveloper.token)).status).toBe(403);
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('tlog - a checkpoint covering every row is signed with the audit key made at the first start', { timeout: 60_000 }, async () => {
    const acmeRows = await eventually(async () => {
      const rows = await rowsOf(acmeAuditor.token);
      return rows.length >= 2 ? rows : undefined;
    }, 'acme rows');
    const last = acmeRows.at(-1)!.sequence;
    const checkpoint = await eventually(async () => {
      const answer = await get('/v1/audit-log/checkpoint', acmeAuditor.token);
      const c = answer.body as unknown as Checkpoint;
      return answer.status === 200 && c.treeSize >= last ? c : undefined;
    }, 'a checkpoint covering the rows');
    const key = await get('/v1/audit-log/key', acmeAuditor.token);
    expect(key.status).toBe(200);
    const pem = (key.body as { publicKeyPem: string }).publicKeyPem;
    // The key made by `npm start` in the data folder is the one that signed.
    const made = createPublicKey(readFileSync(join(platform.dataDir, 'secrets', 'audit-key.pem'), 'utf8')).export({ type: 'spki', format: 'pem' });
    expect(pem).toBe(made);
    expect(key.body).toMatchObject({ origin, keyId: createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex') });
    expect(signedRoot(checkpoint.note, origin, pem)).toEqual({ size: checkpoint.treeSize, root: Buffer.from(checkpoint.rootHash, 'hex') });
  });

  it("tlog - an auditor of acme proves acme's rows against the signed root; globex's rows are not found", { timeout: 60_000 }, async () => {
    const pem = ((await get('/v1/audit-log/key', acmeAuditor.token)).body as { publicKeyPem: string }).publicKeyPem;
    const latest = (await get('/v1/audit-log/checkpoint', acmeAuditor.token)).body as unknown as Checkpoint;
    const { root } = signedRoot(latest.note, origin, pem);
    const acmeRows = (await rowsOf(acmeAuditor.token)).filter((r) => r.sequence <= latest.treeSize);
    expect(acmeRows.length).toBeGreaterThan(0);
    const tenantSequences: number[] = [];
    for (const row of acmeRows) {
      const answer = await get(`/v1/audit-log/${row.sequence}/proof?size=${latest.treeSize}`, acmeAuditor.token);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const proof = answer.body as unknown as Proof;
      const leaf = sha256(Uint8Array.of(0), Buffer.from(proof.leaf, 'utf8'));
      const parsed = JSON.parse(proof.leaf) as { sequence: number; tenant: string; tenantSequence: number };
      expect(parsed).toMatchObject({ sequence: row.sequence, tenant: 'acme' });
      tenantSequences.push(parsed.tenantSequence);
      expect(inclusionRoot(proof.leafIndex, proof.treeSize, leaf, proof.path.map((h) => Buffer.from(h, 'hex')))?.equals(root), `row ${row.sequence}`).toBe(true);
    }
    // The tenant's rows are numbered 1, 2, 3… without a gap: none was left out.
    expect(tenantSequences).toEqual(tenantSequences.map((_, i) => i + 1));

    const globexRow = (await rowsOf(globexAuditor.token)).find((r) => r.sequence <= latest.treeSize)!;
    expect(globexRow).toBeDefined();
    const foreign = await get(`/v1/audit-log/${globexRow.sequence}/proof`, acmeAuditor.token);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error?.code).toBe('QUERY.NOT_FOUND');
    expect(foreign.body.error?.message).not.toContain('globex');
    expect((await get(`/v1/audit-log/${globexRow.sequence}/proof`, globexAuditor.token)).status).toBe(200);
  });

  it('tlog - consistency between two checkpoints verifies independently', { timeout: 60_000 }, async () => {
    const pem = ((await get('/v1/audit-log/key', acmeAuditor.token)).body as { publicKeyPem: string }).publicKeyPem;
    const first = (await get('/v1/audit-log/checkpoint', acmeAuditor.token)).body as unknown as Checkpoint;
    // More rows, then a later checkpoint (the interval signs it).
    await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'dev-b', role: 'developer', tenant: 'acme' });
    const second = await eventually(async () => {
      const c = (await get('/v1/audit-log/checkpoint', acmeAuditor.token)).body as unknown as Checkpoint;
      return c.treeSize > first.treeSize ? c : undefined;
    }, 'a later checkpoint');
    const answer = await get(`/v1/audit-log/consistency?from=${first.treeSize}&to=${second.treeSize}`, acmeAuditor.token);
    expect(answer.status).toBe(200);
    const proof = (answer.body as { proof: string[] }).proof.map((h) => Buffer.from(h, 'hex'));
    const r1 = signedRoot(first.note, origin, pem).root;
    const r2 = signedRoot(second.note, origin, pem).root;
    expect(consistencyHolds(first.treeSize, second.treeSize, r1, r2, proof)).toBe(true);
    expect(consistencyHolds(first.treeSize, second.treeSize, r2, r1, proof)).toBe(false);
  });

  it('tlog - every route refuses a missing token (401), a foreign tenant (403) and a role without read-audit (403); bad input is 400', { timeout: 60_000 }, async () => {
    const routes = ['/v1/audit-log/checkpoint', '/v1/audit-log/1/proof', '/v1/audit-log/consistency?from=1', '/v1/audit-log/key'];
    for (const route of routes) {
      expect((await get(route)).status, route).toBe(401);
      const foreign = await get(route, acmeAuditor.token, { 'forgeone-tenant': 'globex' });
      expect([foreign.status, foreign.body.error?.code], route).toEqual([403, 'AUTHZ.DENIED']);
      expect((await get(route, acmeDeveloper.token)).status, route).toBe(403);
    }
    for (const bad of ['/v1/audit-log/checkpoint?size=zero', '/v1/audit-log/0/proof', '/v1/audit-log/abc/proof', '/v1/audit-log/consistency', '/v1/audit-log/consistency?from=-1', '/v1/audit-log/checkpoint?extra=1']) {
      const answer = await get(bad, acmeAuditor.token);
      expect([answer.status, answer.body.error?.code], bad).toEqual([400, 'QUERY.INVALID']);
    }
    expect((await get('/v1/audit-log/checkpoint?size=999999', acmeAuditor.token)).body.error?.code).toBe('QUERY.NOT_FOUND');
    expect((await get('/v1/audit-log/99999999/proof', acmeAuditor.token)).status).toBe(404);
  });

  it('tlog - the CLI writes and pins the key, proves a row with it, and fails on a wrong key or bad input', { timeout: 90_000 }, async () => {
    const keyFile = join(work, 'audit-key.pem');
    const keyRun = await cli(acmeAuditor.token, 'audit', 'key', '--out', keyFile, '--json');
    const key = cliSucceeded<{ keyId: string; written: string }>(keyRun);
    expect(key.written).toBe(keyFile);
    expect(readFileSync(keyFile, 'utf8')).toContain('BEGIN PUBLIC KEY');

    const row = (await rowsOf(acmeAuditor.token))[0]!;
    const proved = await cli(acmeAuditor.token, 'audit', 'prove', String(row.sequence), '--key', keyFile, '--json');
    expect(cliSucceeded(proved)).toMatchObject({ sequence: row.sequence, signature: { verified: true, keyId: key.keyId } });
    const readable = await cli(acmeAuditor.token, 'audit', 'prove', String(row.sequence), '--key', keyFile);
    expect(readable.stdout).toContain(`checkpoint signature verified with key ${key.keyId}`);
    const unpinned = await cli(acmeAuditor.token, 'audit', 'prove', String(row.sequence));
    expect(unpinned.code).toBe(0);
    expect(unpinned.stdout).toContain('checkpoint signature NOT checked');

    const checkpoint = await cli(acmeAuditor.token, 'audit', 'checkpoint', '--key', keyFile, '--json');
    expect(cliSucceeded(checkpoint)).toMatchObject({ origin, signature: { verified: true } });

    // Another key than the audit key: the checkpoint is refused, exit code 1.
    const otherKey = join(work, 'other.pem');
    const generated = await cli(acmeAuditor.token, 'keys', 'generate', '--out', join(work, 'other'), '--json');
    writeFileSync(otherKey, readFileSync(cliSucceeded<{ publicKey: string }>(generated).publicKey, 'utf8'));
    const wrong = await cli(acmeAuditor.token, 'audit', 'prove', String(row.sequence), '--key', otherKey, '--json');
    expect(wrong.code).toBe(1);
    expect(cliRefusal(wrong).code).toBe('AUDIT.CHECKPOINT_INVALID');

    // Usage errors exit 2 with the error as JSON on stderr.
    const usage = (run: { code: number; stderr: string }) => [run.code, (JSON.parse(run.stderr) as { error: { code: string; message: string } }).error];
    expect(usage(await cli(acmeAuditor.token, 'audit', 'prove', 'seven', '--json'))).toEqual([2, expect.objectContaining({ code: 'COMMAND.INVALID', message: expect.stringContaining('"seven" must be a stream sequence') })]);
    expect(usage(await cli(acmeAuditor.token, 'audit', 'prove', String(row.sequence), '--key', join(work, 'nope.pem'), '--json'))).toEqual([2, expect.objectContaining({ message: expect.stringContaining('cannot read') })]);
    writeFileSync(join(work, 'garbage.pem'), 'not a key');
    expect(usage(await cli(acmeAuditor.token, 'audit', 'prove', String(row.sequence), '--key', join(work, 'garbage.pem'), '--json'))).toEqual([
      2,
      expect.objectContaining({ message: expect.stringContaining('not a PEM public key') }),
    ]);
    const noCheckpoint = await cli(acmeAuditor.token, 'audit', 'checkpoint', '--size', '999999', '--json');
    expect([noCheckpoint.code, cliRefusal(noCheckpoint).code]).toEqual([1, 'QUERY.NOT_FOUND']);

    // A profile pins the fingerprint; prove then checks the signature without --key.
    mkdirSync(join(work, 'config', 'forgeone'), { recursive: true, mode: 0o700 });
    writeFileSync(join(work, 'config', 'forgeone', 'profiles.json'), JSON.stringify({ current: 'default', profiles: { default: { api: platform.apiUrl, token: acmeAuditor.token } } }), { mode: 0o600 });
    const pin = await runCli(platform.apiUrl, ['audit', 'key', '--pin', '--json'], { env: { HOME: work, XDG_CONFIG_HOME: join(work, 'config'), FORGEONE_API: '' } });
    expect(cliSucceeded(pin)).toMatchObject({ keyId: key.keyId, pinnedIn: 'default' });
    const pinnedProof = await runCli(platform.apiUrl, ['audit', 'prove', String(row.sequence), '--json'], { env: { HOME: work, XDG_CONFIG_HOME: join(work, 'config'), FORGEONE_API: '' } });
    expect(cliSucceeded(pinnedProof)).toMatchObject({ signature: { verified: true, keyId: key.keyId } });
  });

  it('tlog - audit verify checks the stored log against the stream with the pinned key, and names a wrong key', { timeout: 150_000 }, async () => {
    const keyFile = join(work, 'audit-key.pem');
    // The operator pins the event writers' public keys: the data folder's file, or FORGEONE_EVENT_WRITER_KEYS.
    const writersFile = join(platform.dataDir, 'secrets', 'event-writers.json');
    const writers = (JSON.parse(readFileSync(writersFile, 'utf8')) as { writers: Record<string, { publicKey: string }> }).writers;
    const writerKeys = JSON.stringify(Object.fromEntries(Object.entries(writers).map(([writer, key]) => [writer, key.publicKey])));
    const fingerprints = Object.fromEntries(Object.entries(writers).map(([writer, key]) => [writer, createHash('sha256').update(Buffer.from(key.publicKey, 'base64')).digest('hex')]));
    const reader = { HOME: work, XDG_CONFIG_HOME: join(work, 'config'), DATABASE_URL: db.url, NATS_URL: TEST_NATS_URL, FORGEONE_NAMESPACE: namespace };
    const env = { ...reader, FORGEONE_EVENT_WRITER_KEYS: writerKeys };
    const verified = await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--writer-keys', writersFile, '--json'], { env: reader });
    expect(cliSucceeded(verified)).toMatchObject({ ok: true, stream: 'compared', checkpoints: expect.any(Number), authorship: { writers: fingerprints, unsignedUntil: 0 } });
    expect((JSON.parse(verified.stdout) as { checkpoints: number }).checkpoints).toBeGreaterThanOrEqual(2);
    // Keys that are not the platform's: the first event is named, not trusted.
    const strangers = await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--json'], { env: { ...reader, FORGEONE_EVENT_WRITER_KEYS: createTestEventWriters().writerKeysJson } });
    expect([strangers.code, JSON.parse(strangers.stdout)]).toEqual([1, expect.objectContaining({ ok: false, fault: expect.objectContaining({ kind: 'forged', sequence: 1, message: expect.stringContaining('(bad-signature)') }) })]);
    // The stream is never compared without checking who wrote it.
    const unpinned = await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--json'], { env: reader });
    expect([unpinned.code, (JSON.parse(unpinned.stderr) as { error: { message: string } }).error.message]).toEqual([2, expect.stringContaining('no event-writer keys are pinned')]);
    const wrong = await runCli(platform.apiUrl, ['audit', 'verify', '--key', join(work, 'other.pem'), '--json'], { env });
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ ok: false, fault: { kind: 'checkpoint-signature-invalid' } });
    // A range, and a checkpoint kept outside the platform.
    const keptFile = join(work, 'kept-checkpoint.json');
    writeFileSync(keptFile, (await cli(acmeAuditor.token, 'audit', 'checkpoint', '--key', keyFile, '--json')).stdout);
    const kept = JSON.parse(readFileSync(keptFile, 'utf8')) as { treeSize: number };
    const ranged = await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--from', '2', '--to', String(kept.treeSize), '--checkpoint', keptFile, '--json'], { env });
    expect(cliSucceeded(ranged)).toMatchObject({ ok: true, externalCheckpoints: 1, range: { from: 2, to: expect.any(Number) } });

    // Without DATABASE_URL the platform verifies where it stores the log, with the key the auditor sends.
    const remoteEnv = { HOME: work, XDG_CONFIG_HOME: join(work, 'config'), DATABASE_URL: '' };
    const remote = await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--checkpoint', keptFile, '--json'], { token: acmeAuditor.token, env: remoteEnv });
    expect(cliSucceeded(remote)).toMatchObject({ ok: true, stream: 'compared', authorship: { writers: fingerprints, unsignedUntil: 0 }, externalCheckpoints: 1, where: expect.stringContaining('/v1/audit-log/verify') });
    expect((JSON.parse(remote.stdout) as { rows: number }).rows).toBeGreaterThanOrEqual(kept.treeSize);
    const remoteWrong = await runCli(platform.apiUrl, ['audit', 'verify', '--key', join(work, 'other.pem'), '--json'], { token: acmeAuditor.token, env: remoteEnv });
    expect([remoteWrong.code, JSON.parse(remoteWrong.stdout)]).toEqual([1, expect.objectContaining({ ok: false, fault: expect.objectContaining({ kind: 'checkpoint-signature-invalid' }) })]);

    // A kept checkpoint signed by another key proves nothing and is named.
    const keptJson = JSON.parse(readFileSync(keptFile, 'utf8')) as { origin: string; note: string };
    const lines = keptJson.note.trimEnd().split('\n');
    const [dash, name] = lines[lines.length - 1]!.split(' ');
    lines[lines.length - 1] = `${dash} ${name} ${Buffer.alloc(68, 1).toString('base64')}`;
    writeFileSync(join(work, 'forged-checkpoint.json'), JSON.stringify({ origin: keptJson.origin, note: `${lines.join('\n')}\n` }));
    const refused = await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--checkpoint', join(work, 'forged-checkpoint.json'), '--json'], { env });
    expect([refused.code, JSON.parse(refused.stdout)]).toEqual([1, expect.objectContaining({ ok: false, fault: expect.objectContaining({ kind: 'checkpoint-signature-invalid' }) })]);

    // The route: read-audit only; a key that is not one, and a range that ends before it starts, are 400.
    const post = async (token: string, body: unknown) => {
      const response = await fetch(`${platform.apiUrl}/v1/audit-log/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return [response.status, ((await response.json()) as { error?: { code: string } }).error?.code];
    };
    const pem = readFileSync(keyFile, 'utf8');
    expect(await post(acmeDeveloper.token, { publicKeyPem: pem })).toEqual([403, 'AUTHZ.DENIED']);
    expect(await post(acmeAuditor.token, { publicKeyPem: 'not a key' })).toEqual([400, 'AUDIT.KEY_INVALID']);
    expect(await post(acmeAuditor.token, { publicKeyPem: pem, from: 5, to: 4 })).toEqual([400, 'COMMAND.INVALID']);

    // Usage errors exit 2: no key pinned anywhere, a range backwards, a kept checkpoint that is not one.
    const bare = { HOME: work, XDG_CONFIG_HOME: join(work, 'bare-config'), DATABASE_URL: db.url };
    const usage = (run: { code: number; stderr: string }) => [run.code, (JSON.parse(run.stderr) as { error: { message: string } }).error.message];
    expect(usage(await runCli(platform.apiUrl, ['audit', 'verify', '--json'], { token: acmeAuditor.token, env: bare }))).toEqual([2, expect.stringContaining('no audit key')]);
    expect(usage(await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--from', '5', '--to', '4', '--json'], { env }))).toEqual([2, expect.stringContaining('--to 4 is before --from 5')]);
    writeFileSync(join(work, 'not-a-checkpoint.json'), '{"treeSize": 3}');
    expect(usage(await runCli(platform.apiUrl, ['audit', 'verify', '--key', keyFile, '--checkpoint', join(work, 'not-a-checkpoint.json'), '--json'], { env }))).toEqual([
      2,
      expect.stringContaining('needs the string fields "origin" and "note"'),
    ]);
  });
});
