import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalJson, EVIDENCE_MANIFEST_FORMAT, EVIDENCE_MANIFEST_PAYLOAD_TYPE } from '@forgeone/contracts';
import { checkpointText, inclusionPath, keyIdOf, leafHash, merkleTreeHash, pae, signNote } from '@forgeone/signing';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyEvidenceExport } from './evidence-export.verifier.js';

const work = mkdtempSync(join(tmpdir(), 'forgeone-evidence-spec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const origin = 'forgeone.local/audit/spec';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

// Eight leaves; rows 3 and 6 (stream sequences) belong to acme.
const leaves = Array.from({ length: 8 }, (_, i) => canonicalJson({ digest: sha(`event ${i + 1}`), eventId: `e${i + 1}`, format: 'forgeone.audit.leaf.v1', sequence: i + 1, subject: 's', tenant: i % 3 === 2 ? 'acme' : 'globex', tenantSequence: 1 }));
const hashes = leaves.map((l) => leafHash(l));

interface Tamper {
  rows?: (rows: string) => string;
  sample?: (sample: { rows: { row: Record<string, unknown>; proof: Record<string, unknown> }[] }) => void;
  signWith?: KeyObject;
}

/** An export as the gateway writes it: the files, the manifest over their sha256, the envelope over the manifest. */
async function makeExport(name: string, tamper: Tamper = {}): Promise<string> {
  const dir = join(work, name);
  const files: Record<string, string> = {};
  const root = merkleTreeHash(hashes);
  const signedAt = '2026-12-07T10:00:00.000Z';
  const note = await signNote(checkpointText({ origin, treeSize: 8, rootHash: root, extensions: [`time ${signedAt}`] }), origin, publicKey, async (m) => new Uint8Array(sign(null, m, privateKey)));
  files['checkpoint.json'] = JSON.stringify({ treeSize: 8, rootHash: root.toString('hex'), origin, keyId: keyIdOf(publicKey), note, signedAt });
  let rows = [3, 6].map((s) => `${JSON.stringify({ sequence: s, type: 'x' })}\n`).join('');
  const rowsSha256 = sha(rows);
  if (tamper.rows) rows = tamper.rows(rows);
  files['queries/q/rows.jsonl'] = rows;
  files['queries/q/rows.csv'] = 'sequence,type\n3,x\n6,x\n';
  files['queries/q/population.json'] = JSON.stringify({ query: 'q', rows: 2, rowsSha256 });
  const sample = { rows: [3, 6].map((s) => ({ row: { sequence: s, type: 'x' }, proof: { sequence: s, leaf: leaves[s - 1], leafHash: hashes[s - 1]!.toString('hex'), leafIndex: s - 1, treeSize: 8, path: inclusionPath(s - 1, hashes).map((h) => h.toString('hex')) } })) };
  tamper.sample?.(sample);
  files['queries/q/sample.json'] = JSON.stringify(sample);
  files['index.html'] = '<html></html>';
  const manifest = canonicalJson({
    format: EVIDENCE_MANIFEST_FORMAT,
    framework: 'soc2',
    tenant: 'acme',
    from: '2026-12-01T00:00:00.000Z',
    before: '2026-12-08T00:00:00.000Z',
    generatedAt: signedAt,
    exportedBy: 'aud-a',
    checkpoint: { treeSize: 8, rootHash: root.toString('hex'), origin, keyId: keyIdOf(publicKey) },
    files: Object.entries(files)
      .map(([path, text]) => ({ path, bytes: Buffer.byteLength(text), sha256: sha(text) }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
  });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, 'manifest.json'), manifest);
  const sig = sign(null, pae(EVIDENCE_MANIFEST_PAYLOAD_TYPE, Buffer.from(manifest)), tamper.signWith ?? privateKey).toString('base64');
  writeFileSync(join(dir, 'manifest.dsse.json'), JSON.stringify({ payloadType: EVIDENCE_MANIFEST_PAYLOAD_TYPE, payload: Buffer.from(manifest).toString('base64'), signatures: [{ keyid: keyIdOf(publicKey), sig }] }));
  return dir;
}

describe('verifyEvidenceExport', () => {
  it('verify-export - a sound export verifies: every file, the signature and each proof', async () => {
    const report = await verifyEvidenceExport(await makeExport('sound'), publicKey);
    expect(report).toMatchObject({ ok: true, files: 6, proofs: 2, tenant: 'acme', checkpoint: { treeSize: 8 } });
  });

  it('verify-export - a changed byte names its file; a changed manifest names manifest.json; another key names the envelope', async () => {
    const dir = await makeExport('changed');
    writeFileSync(join(dir, 'queries/q/rows.csv'), 'sequence,type\n3,x\n6,y\n');
    expect((await verifyEvidenceExport(dir, publicKey)).failure).toMatchObject({ file: 'queries/q/rows.csv' });
    const manifest = await makeExport('manifest');
    writeFileSync(join(manifest, 'manifest.json'), readFileSync(join(manifest, 'manifest.json'), 'utf8').replace('"soc2"', '"gdpr"'));
    expect((await verifyEvidenceExport(manifest, publicKey)).failure).toMatchObject({ file: 'manifest.json' });
    const other = generateKeyPairSync('ed25519');
    expect((await verifyEvidenceExport(await makeExport('other-key', { signWith: other.privateKey }), publicKey)).failure).toMatchObject({ file: 'manifest.dsse.json' });
  });

  it('verify-export - a proof that does not lead to the signed root is named even when the manifest was signed over it', async () => {
    const wrongPath = await makeExport('wrong-path', { sample: (s) => void (s.rows[1]!.proof['leafIndex'] = 4) });
    expect((await verifyEvidenceExport(wrongPath, publicKey)).failure).toMatchObject({ file: 'queries/q/sample.json', reason: expect.stringContaining('not proven') });
    const foreign = await makeExport('foreign-leaf', {
      sample: (s) => void Object.assign(s.rows[0]!.proof, { leaf: leaves[0], leafHash: hashes[0]!.toString('hex'), leafIndex: 0, path: inclusionPath(0, hashes).map((h) => h.toString('hex')) }),
    });
    expect((await verifyEvidenceExport(foreign, publicKey)).failure).toMatchObject({ file: 'queries/q/sample.json' });
    const rows = await makeExport('rows-digest', { rows: (r) => r.replace('"x"', '"z"') });
    expect((await verifyEvidenceExport(rows, publicKey)).failure).toMatchObject({ file: 'queries/q/population.json' });
  });
});
