import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkpointText, NoteVerificationError, noteKeyHash, openCheckpoint, openNote, parseCheckpointText, signNote } from './signed-note.js';

// The example of Go's golang.org/x/mod/sumdb/note documentation: signer key
// PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz and verifier key
// PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW (type 0x01, then the seed or public key).
const PETER_SEED = Buffer.from('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz', 'base64').subarray(1);
const PETER_PUBLIC = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64').subarray(1);
const PETER_KEY = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: PETER_PUBLIC.toString('base64url') }, format: 'jwk' });
const PETER_NOTE =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

describe('signed note - interoperability', () => {
  it('computes the key hash of the published example key', () => {
    expect(noteKeyHash('PeterNeumann', PETER_KEY).toString('hex')).toBe('c74f20a3');
  });

  it('opens the published example note with its public key', () => {
    expect(openNote(PETER_NOTE, 'PeterNeumann', PETER_KEY)).toBe("If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n");
  });

  it('signs the example text to exactly the published note (Ed25519 is deterministic)', async () => {
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: PETER_PUBLIC.toString('base64url'), d: PETER_SEED.toString('base64url') }, format: 'jwk' });
    const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    expect(await signNote(text, 'PeterNeumann', PETER_KEY, async (m) => new Uint8Array(sign(null, m, privateKey)))).toBe(PETER_NOTE);
  });

  it('refuses the example with one character of its text changed', () => {
    expect(() => openNote(PETER_NOTE.replace('answer', 'Answer'), 'PeterNeumann', PETER_KEY)).toThrow(/does not verify/);
  });
});

describe('signed note - checkpoints', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const signer = async (message: Uint8Array) => new Uint8Array(sign(null, message, privateKey));
  const body = { origin: 'forgeone.local/audit', treeSize: 42, rootHash: Buffer.alloc(32, 7), extensions: ['time 2026-12-07T03:00:00.000Z'] };

  it('writes the checkpoint text line by line', () => {
    expect(checkpointText(body)).toBe(`forgeone.local/audit\n42\n${Buffer.alloc(32, 7).toString('base64')}\ntime 2026-12-07T03:00:00.000Z\n`);
  });

  it('signs and opens a checkpoint; the signature is an Ed25519 signature over the text', async () => {
    const note = await signNote(checkpointText(body), body.origin, publicKey, signer);
    const [text, signatureLine] = note.split('\n\n') as [string, string];
    expect(signatureLine).toMatch(/^— forgeone\.local\/audit [A-Za-z0-9+/=]+\n$/);
    const bytes = Buffer.from(signatureLine.trim().split(' ')[2]!, 'base64');
    expect(bytes.subarray(0, 4)).toEqual(noteKeyHash(body.origin, publicKey));
    const { verify } = await import('node:crypto');
    expect(verify(null, Buffer.from(`${text}\n`), publicKey, bytes.subarray(4))).toBe(true);
    expect(openCheckpoint(note, body.origin, publicKey)).toEqual(body);
  });

  it('refuses another key, another origin, a changed size and a malformed body', async () => {
    const note = await signNote(checkpointText(body), body.origin, publicKey, signer);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(() => openCheckpoint(note, body.origin, other)).toThrow(NoteVerificationError);
    expect(() => openCheckpoint(note, 'elsewhere/audit', publicKey)).toThrow(/no signature of key elsewhere/);
    expect(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), body.origin, publicKey)).toThrow(/does not verify/);
    expect(() => parseCheckpointText('origin\n042\nAAAA\n')).toThrow(/leading zeros/);
    expect(() => parseCheckpointText('origin\n1\nAAAA\n')).toThrow(/32 bytes/);
    expect(() => openNote('no signatures here\n', 'x', publicKey)).toThrow(/no blank line/);
    await expect(signNote('two\n\nparagraphs\n', 'x', publicKey, signer)).rejects.toThrow(/blank line/);
    await expect(signNote('ok\n', 'has space', publicKey, signer)).rejects.toThrow(/key name/);
  });
});
