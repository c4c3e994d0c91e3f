import { sign } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, SIGNATURE_FILE } from '@forgeone/contracts';
import { buildPluginStatement, encodeBase64, keyIdOf, loadPrivateKey, pae } from '@forgeone/signing';
import {
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  runCli,
  startTestPlatform,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
  cliSucceeded,
  cliRefusal,
  helloPluginCopy,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Signature verification in the registry, driven through the CLI on a running platform with the default
// signature policy: live strict (threshold 1, like every environment not named; not gated, unlike production), staging audit. Every refusal below comes with its own
// reason code, a signature.rejected event in the audit log, and no installation.

interface SignatureEntry {
  readonly type: string;
  readonly data: {
    readonly name: string;
    readonly version: string;
    readonly environment: string | null;
    readonly stage: string;
    readonly mode: string;
    readonly reason: string | null;
    readonly flagged: boolean;
    readonly keyIds: string[];
    readonly envelopeDigest: string | null;
  };
}

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-verify-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('signature verification - the registry verifies at publish, install, upgrade and rollback', () => {
  const namespace = testNamespace('e2e-verify');
  let db: TestDatabase;
  let platform: TestPlatform;
  let adminToken: string;
  const keys: Record<'good' | 'untrusted' | 'revoked' | 'expired' | 'scoped', { dir: string; keyId: string }> = {} as never;
  const cli = (...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token: adminToken });

  const signWith = async (dir: string, key: keyof typeof keys) => cliSucceeded(await runCli(platform.apiUrl, ['plugin', 'sign', dir, '--key', join(keys[key].dir, 'private.pem'), '--json']));
  const publish = async (dir: string) => cliSucceeded<{ name: string; version: string; signature?: { verified: boolean; reason: string | null } }>(await cli('plugin', 'publish', dir));
  const installations = async (name: string) =>
    cliSucceeded<{ installations: Array<{ environment: string; version: string; status: string }> }>(await cli('plugin', 'show', name)).installations;
  const versionSignatures = async (name: string) =>
    cliSucceeded<{ versions: Array<{ signature: { envelopeDigest: string; signedAt: string } | null }> }>(await cli('plugin', 'show', name)).versions.map((v) => v.signature);
  const signatureEvents = async (name: string) =>
    cliSucceeded<{ entries: SignatureEntry[] }>(await cli('audit', 'log', '--plugin', name, '--limit', '1000')).entries.filter((e) => e.type.startsWith('io.forgeone.signature.'));
  /** Waits for the projector to show `count` signature events of the plugin, and returns them. */
  const signatureEventsOnceThere = (name: string, count: number) =>
    eventually(async () => {
      const events = await signatureEvents(name);
      return events.length >= count ? events : undefined;
    }, `${count} signature event(s) of ${name} in the audit log`);

  /** Production refuses `name@version` with `reason`, records the rejection, and installs nothing. */
  async function refusedInProduction(name: string, reason: string, version = '1.0.0'): Promise<void> {
    const before = (await signatureEvents(name)).length;
    const error = cliRefusal(await cli('plugin', 'install', `${name}@${version}`, '--env', 'live'));
    expect(error.code).toBe(reason);
    expect(error.message).toContain(`${name}@${version} cannot be installed in live, where signatures are strict`);
    expect(error.details).toMatchObject({ mode: 'strict', environment: 'live', threshold: 1 });
    const recorded = (await signatureEventsOnceThere(name, before + 1)).at(-1);
    expect(recorded).toMatchObject({
      type: 'io.forgeone.signature.rejected.v1',
      data: { name, version, environment: 'live', stage: 'install', mode: 'strict', reason, flagged: false },
    });
    expect((await installations(name)).filter((i) => i.environment === 'live')).toEqual([]);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
    adminToken = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin', tenant: 'acme' })).token;
    for (const name of Object.keys({ good: 0, untrusted: 0, revoked: 0, expired: 0, scoped: 0 }) as (keyof typeof keys)[]) {
      const dir = join(work, `key-${name}`);
      keys[name] = { dir, keyId: cliSucceeded<{ keyId: string }>(await runCli(platform.apiUrl, ['keys', 'generate', '--out', dir, '--json'])).keyId };
    }
    const trust = async (key: keyof typeof keys, ...extra: string[]) => cliSucceeded(await cli('keys', 'trust', join(keys[key].dir, 'public.pem'), '--publisher', 'forgeone', ...extra));
    await trust('good');
    await trust('revoked');
    await trust('expired', '--valid-from', '2020-01-01T00:00:00Z', '--valid-until', '2021-01-01T00:00:00Z');
    await trust('scoped', '--scope', 'forgeone/only-this');
  });

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('signed by a trusted key - verified at publish and at install, and installed in live (strict)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/signed');
    await signWith(dir, 'good');
    expect((await publish(dir)).signature).toMatchObject({ verified: true, reason: null });
    expect(cliSucceeded(await cli('plugin', 'install', 'forgeone/signed@1.0.0', '--env', 'live'))).toMatchObject({ environment: 'live' });
    const events = await signatureEventsOnceThere('forgeone/signed', 2);
    expect(events.map((e) => [e.type, e.data.stage, e.data.environment, e.data.mode, e.data.keyIds])).toEqual([
      ['io.forgeone.signature.verified.v1', 'publish', null, 'audit', [keys.good.keyId]],
      ['io.forgeone.signature.verified.v1', 'install', 'live', 'strict', [keys.good.keyId]],
    ]);
    expect(await installations('forgeone/signed')).toEqual([expect.objectContaining({ environment: 'live', version: '1.0.0', status: 'installed' })]);
    // plugin show says which envelope the version was published with.
    expect(await versionSignatures('forgeone/signed')).toEqual([{ envelopeDigest: events[0].data.envelopeDigest, signedAt: expect.any(String) }]);
    expect((await runCli(platform.apiUrl, ['plugin', 'show', 'forgeone/signed'], { token: adminToken })).stdout).toMatch(/PUBLISHED +SIGNED\n1\.0\.0 .* yes\n/);
  });

  it('unsigned - live (strict) refuses it (SIGNATURE.MISSING); staging (audit) installs it, flagged in the audit log', async () => {
    const dir = helloPluginCopy(work, 'forgeone/unsigned');
    expect((await publish(dir)).signature).toBeUndefined();
    // Nothing about signatures is recorded at publish: the version event says it is unsigned.
    expect(await signatureEvents('forgeone/unsigned')).toEqual([]);
    await refusedInProduction('forgeone/unsigned', 'SIGNATURE.MISSING');

    expect(cliSucceeded(await cli('plugin', 'install', 'forgeone/unsigned@1.0.0', '--env', 'staging'))).toMatchObject({ environment: 'staging' });
    const flagged = (await signatureEventsOnceThere('forgeone/unsigned', 2)).at(-1);
    expect(flagged).toMatchObject({
      type: 'io.forgeone.signature.rejected.v1',
      data: { environment: 'staging', stage: 'install', mode: 'audit', reason: 'SIGNATURE.MISSING', flagged: true, envelopeDigest: null },
    });
    const table = await runCli(platform.apiUrl, ['audit', 'log', '--plugin', 'forgeone/unsigned'], { token: adminToken });
    expect(table.stdout).toMatch(/signature\.rejected \(install, FLAGGED\) +forgeone\/unsigned +1\.0\.0 +staging +adm-1 +SIGNATURE\.MISSING/);
    expect(table.stdout).toMatch(/signature\.rejected \(install\) +forgeone\/unsigned +1\.0\.0 +live +adm-1 +SIGNATURE\.MISSING/);
    const history = await runCli(platform.apiUrl, ['plugin', 'history', 'forgeone/unsigned'], { token: adminToken });
    expect(history.stdout).toMatch(/signature\.rejected \(install, FLAGGED\)/);
    expect(await installations('forgeone/unsigned')).toEqual([expect.objectContaining({ environment: 'staging', status: 'installed' })]);
    expect(await versionSignatures('forgeone/unsigned')).toEqual([null]);
  });

  it('the module changed after signing - published (not refused), then refused by live, strict (WASM_DIGEST_MISMATCH)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/wasm-changed');
    await signWith(dir, 'good');
    // A custom section keeps the module valid and changes its bytes.
    appendFileSync(join(dir, 'plugin.wasm'), Buffer.from([0x00, 0x09, 0x01, 0x78, ...Buffer.from('changed')]));
    expect((await publish(dir)).signature).toMatchObject({ verified: false, reason: 'SIGNATURE.WASM_DIGEST_MISMATCH' });
    await refusedInProduction('forgeone/wasm-changed', 'SIGNATURE.WASM_DIGEST_MISMATCH');
  });

  it('the manifest changed after signing - refused by live, strict (MANIFEST_DIGEST_MISMATCH)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/manifest-changed');
    await signWith(dir, 'good');
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, description: 'changed after signing' }));
    await publish(dir);
    await refusedInProduction('forgeone/manifest-changed', 'SIGNATURE.MANIFEST_DIGEST_MISMATCH');
  });

  it('signed by a key the tenant does not trust - refused (UNTRUSTED_KEY)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/untrusted');
    await signWith(dir, 'untrusted');
    expect((await publish(dir)).signature).toMatchObject({ verified: false, reason: 'SIGNATURE.UNTRUSTED_KEY' });
    await refusedInProduction('forgeone/untrusted', 'SIGNATURE.UNTRUSTED_KEY');
  });

  it('revoked key - a version published after the revocation is refused (KEY_REVOKED); one published before stays valid', async () => {
    const before = helloPluginCopy(work, 'forgeone/rev-before');
    const after = helloPluginCopy(work, 'forgeone/rev-after');
    await signWith(before, 'revoked');
    await signWith(after, 'revoked');
    expect((await publish(before)).signature).toMatchObject({ verified: true });
    cliSucceeded(await cli('keys', 'revoke', keys.revoked.keyId, '--reason', 'key leaked'));
    // Published after the revocation: signedAt (the publish time) is at or after revokedAt.
    expect((await publish(after)).signature).toMatchObject({ verified: false, reason: 'SIGNATURE.KEY_REVOKED' });
    await refusedInProduction('forgeone/rev-after', 'SIGNATURE.KEY_REVOKED');
    // The trust store is read fresh at install: the revocation is known, and the earlier version still verifies.
    expect(cliSucceeded(await cli('plugin', 'install', 'forgeone/rev-before@1.0.0', '--env', 'live'))).toMatchObject({ environment: 'live' });
    expect((await signatureEventsOnceThere('forgeone/rev-before', 2)).at(-1)).toMatchObject({
      type: 'io.forgeone.signature.verified.v1',
      data: { stage: 'install', environment: 'live', keyIds: [keys.revoked.keyId] },
    });
  });

  it('a key outside its validity window - refused (KEY_EXPIRED)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/expired');
    await signWith(dir, 'expired');
    await publish(dir);
    await refusedInProduction('forgeone/expired', 'SIGNATURE.KEY_EXPIRED');
  });

  it('a key outside its scope - refused (OUT_OF_SCOPE)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/not-this');
    await signWith(dir, 'scoped');
    await publish(dir);
    await refusedInProduction('forgeone/not-this', 'SIGNATURE.OUT_OF_SCOPE');
  });

  it('an envelope with an unknown payload type, correctly signed by a trusted key - refused (UNKNOWN_PAYLOAD_TYPE)', async () => {
    const dir = helloPluginCopy(work, 'forgeone/other-type');
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as unknown;
    const statement = buildPluginStatement({ wasm: readFileSync(join(dir, 'plugin.wasm')), manifest, publisher: 'forgeone' });
    const payload = new TextEncoder().encode(canonicalJson(statement));
    const payloadType = 'application/vnd.example.other+json';
    const privateKey = loadPrivateKey(readFileSync(join(keys.good.dir, 'private.pem'), 'utf8'));
    const envelope = { payloadType, payload: encodeBase64(payload), signatures: [{ keyid: keyIdOf(privateKey), sig: encodeBase64(sign(null, pae(payloadType, payload), privateKey)) }] };
    writeFileSync(join(dir, SIGNATURE_FILE), JSON.stringify(envelope));
    await publish(dir);
    await refusedInProduction('forgeone/other-type', 'SIGNATURE.UNKNOWN_PAYLOAD_TYPE');
  });

  it('malformed base64 or JSON, or an oversized envelope - the publish is refused with its code and nothing is stored', async () => {
    const dir = helloPluginCopy(work, 'forgeone/malformed');
    await signWith(dir, 'good');
    const envelope = JSON.parse(readFileSync(join(dir, SIGNATURE_FILE), 'utf8')) as { payload: string; signatures: Array<{ keyid: string; sig: string }> };
    const attempts: Array<[string, string]> = [
      [JSON.stringify({ ...envelope, payload: envelope.payload.replace(/=*$/, '').concat('!') }), 'SIGNATURE.MALFORMED'],
      [JSON.stringify({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: envelope.signatures[0].sig.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') + '_' }] }), 'SIGNATURE.MALFORMED'],
      ['{"payloadType": "application/vnd.in-toto+json", ', 'SIGNATURE.MALFORMED'],
      [JSON.stringify({ ...envelope, padding: 'x'.repeat(64 * 1024) }), 'SIGNATURE.TOO_LARGE'],
    ];
    for (const [text, code] of attempts) {
      writeFileSync(join(dir, SIGNATURE_FILE), text);
      const error = cliRefusal(await cli('plugin', 'publish', dir));
      expect(error.code, text.slice(0, 80)).toBe(code);
      expect(error.message).toMatch(/^plugin\.sig\.json is refused: /);
    }
    expect(cliRefusal(await cli('plugin', 'show', 'forgeone/malformed')).code).toBe('QUERY.NOT_FOUND');
    expect(await signatureEvents('forgeone/malformed')).toEqual([]);
  });

  it('downgrade - refused without rollback (DOWNGRADE_REFUSED, nothing verified); plugin rollback --reason is verified in strict mode and accepted', async () => {
    for (const version of ['1.0.0', '2.0.0']) {
      const dir = helloPluginCopy(work, 'forgeone/roll', version);
      await signWith(dir, 'good');
      await publish(dir);
    }
    cliSucceeded(await cli('plugin', 'install', 'forgeone/roll@2.0.0', '--env', 'live'));
    const recorded = (await signatureEventsOnceThere('forgeone/roll', 3)).length;
    expect(cliRefusal(await cli('plugin', 'upgrade', 'forgeone/roll@1.0.0', '--env', 'live')).code).toBe('REGISTRY.DOWNGRADE_REFUSED');
    expect(cliRefusal(await cli('plugin', 'install', 'forgeone/roll@1.0.0', '--env', 'live')).code).toBe('REGISTRY.ALREADY_INSTALLED');

    expect(cliSucceeded(await cli('plugin', 'rollback', 'forgeone/roll@1.0.0', '--env', 'live', '--reason', '2.0.0 drops orders'))).toMatchObject({
      version: '1.0.0',
      environment: 'live',
    });
    const events = await signatureEventsOnceThere('forgeone/roll', recorded + 1);
    // The refused downgrade recorded nothing; the rollback recorded its verification.
    expect(events).toHaveLength(recorded + 1);
    expect(events.at(-1)).toMatchObject({
      type: 'io.forgeone.signature.verified.v1',
      data: { version: '1.0.0', environment: 'live', stage: 'rollback', mode: 'strict', reason: null, keyIds: [keys.good.keyId] },
    });
    expect(await installations('forgeone/roll')).toEqual([expect.objectContaining({ environment: 'live', version: '1.0.0' })]);
  });

  it('an unsigned version is refused on upgrade too, and the installed version stays', async () => {
    const signed = helloPluginCopy(work, 'forgeone/mixed', '1.0.0');
    await signWith(signed, 'good');
    await publish(signed);
    await publish(helloPluginCopy(work, 'forgeone/mixed', '1.1.0'));
    cliSucceeded(await cli('plugin', 'install', 'forgeone/mixed@1.0.0', '--env', 'live'));
    expect(cliRefusal(await cli('plugin', 'upgrade', 'forgeone/mixed@1.1.0', '--env', 'live')).code).toBe('SIGNATURE.MISSING');
    const events = await signatureEventsOnceThere('forgeone/mixed', 3);
    expect(events.at(-1)).toMatchObject({ type: 'io.forgeone.signature.rejected.v1', data: { version: '1.1.0', stage: 'upgrade', reason: 'SIGNATURE.MISSING' } });
    expect(await installations('forgeone/mixed')).toEqual([expect.objectContaining({ environment: 'live', version: '1.0.0' })]);
  });
});
