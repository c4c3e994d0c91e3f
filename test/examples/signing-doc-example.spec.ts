// docs/signing.md's worked example: the standalone verification script in the document, run as
// written against plugin folders signed by libs/signing, so the document cannot drift from the format.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSignature, buildPluginStatement, generateKeyPair, serializeEnvelope, signEnvelope } from '@forgeone/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docExamples } from '../doc-examples.js';

const root = join(import.meta.dirname, '..', '..');
const hello = join(root, 'examples', 'plugins', 'hello');

function exampleScript(): string {
  const [script] = docExamples('docs/signing.md', 'verify-plugin-signature.mjs', 'js');
  return script;
}

describe('docs/signing.md worked example', () => {
  let work: string;
  let script: string;
  const signer = generateKeyPair();
  const other = generateKeyPair();

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-sigdoc-'));
    script = join(work, 'verify-plugin-signature.mjs');
    writeFileSync(script, exampleScript());
    writeFileSync(join(work, 'signer.pem'), signer.publicKeyPem);
    writeFileSync(join(work, 'other.pem'), other.publicKeyPem);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function signedFolder(name: string, expiresAt?: string): string {
    const dir = join(work, name);
    cpSync(hello, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    const statement = buildPluginStatement({ wasm: readFileSync(join(dir, 'plugin.wasm')), manifest, publisher: 'forgeone', ...(expiresAt ? { expiresAt } : {}) });
    writeFileSync(join(dir, 'plugin.sig.json'), serializeEnvelope(addSignature(signEnvelope(statement, generateKeyPair().privateKeyPem), signer.privateKeyPem)));
    return dir;
  }

  function run(dir: string, key = 'signer.pem'): { code: number; out: string } {
    try {
      return { code: 0, out: execFileSync(process.execPath, [script, dir, join(work, key)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (error) {
      const failed = error as { status: number; stderr: string };
      return { code: failed.status, out: failed.stderr };
    }
  }

  it('signing doc - the script verifies a folder signed by the library and prints the key id', () => {
    const result = run(signedFolder('ok'));
    expect(result).toEqual({ code: 0, out: `verified forgeone/hello@1.0.0, publisher forgeone, key ${signer.keyId}\n` });
  });

  it('signing doc - a re-indented manifest still verifies (the digest is of canonical JSON)', () => {
    const dir = signedFolder('reindented');
    const manifest = JSON.parse(readFileSync(join(dir, 'forgeone.plugin.json'), 'utf8')) as object;
    writeFileSync(join(dir, 'forgeone.plugin.json'), JSON.stringify(Object.fromEntries(Object.entries(manifest).reverse()), null, 4));
    expect(run(dir).code).toBe(0);
  });

  it('signing doc - the script refuses a changed module, a changed manifest, another key and an expired statement', () => {
    const wasmChanged = signedFolder('wasm');
    writeFileSync(join(wasmChanged, 'plugin.wasm'), Buffer.concat([readFileSync(join(wasmChanged, 'plugin.wasm')), Buffer.from([0, 1, 0])]));
    expect(run(wasmChanged)).toEqual({ code: 1, out: 'NOT VERIFIED: plugin.wasm changed after signing\n' });

    const manifestChanged = signedFolder('manifest');
    const manifest = JSON.parse(readFileSync(join(manifestChanged, 'forgeone.plugin.json'), 'utf8')) as { description: string };
    writeFileSync(join(manifestChanged, 'forgeone.plugin.json'), JSON.stringify({ ...manifest, description: `${manifest.description}!` }));
    expect(run(manifestChanged)).toEqual({ code: 1, out: 'NOT VERIFIED: forgeone.plugin.json changed after signing\n' });

    expect(run(signedFolder('other-key'), 'other.pem')).toEqual({ code: 1, out: `NOT VERIFIED: no signature by key ${other.keyId}\n` });
    expect(run(signedFolder('expired', '2020-01-01T00:00:00Z')).out).toMatch(/^NOT VERIFIED: the statement expired/);
  });

  it('signing doc - a tampered payload does not verify', () => {
    const dir = signedFolder('tampered');
    const envelope = JSON.parse(readFileSync(join(dir, 'plugin.sig.json'), 'utf8')) as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { predicate: { version: string } };
    statement.predicate.version = '9.9.9';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    writeFileSync(join(dir, 'plugin.sig.json'), JSON.stringify(envelope));
    expect(run(dir)).toEqual({ code: 1, out: 'NOT VERIFIED: the signature does not verify\n' });
  });
});
