import { createHash, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures, and the C2SP
 * tlog-checkpoint body (https://c2sp.org/tlog-checkpoint). Written here because the format is a
 * few lines of text and the npm packages that read it (sigstore's) verify only their own logs.
 */

/** What a note or checkpoint failed on. */
export class NoteVerificationError extends Error {
  override readonly name = 'NoteVerificationError';
}

const SIGNATURE_PREFIX = '\u2014 ';
const ED25519_SIGNATURE_TYPE = 0x01;
const MAX_SIGNATURES = 100;

/** The raw 32 bytes of an Ed25519 public key (also accepts a private key: its public half). */
export function ed25519PublicKeyBytes(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new NoteVerificationError(`the key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new NoteVerificationError('the Ed25519 key has no public part');
  return Buffer.from(jwk.x, 'base64url');
}

/** A key name may not be empty nor hold whitespace or '+'. */
export function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name)) throw new NoteVerificationError(`the key name "${name}" is invalid: it must be non-empty, without spaces or '+'`);
}

/** The 4-byte key hash: sha256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
export function noteKeyHash(name: string, publicKey: KeyObject): Buffer {
  checkKeyName(name);
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, ED25519_SIGNATURE_TYPE)).update(ed25519PublicKeyBytes(publicKey)).digest().subarray(0, 4);
}

/**
 * Signs a note text: `text` must end in a newline and hold no blank line; the result is the text, a
 * blank line and `— <name> <base64(key hash ‖ signature)>`.
 */
export async function signNote(text: string, name: string, publicKey: KeyObject, sign: (message: Uint8Array) => Promise<Uint8Array>): Promise<string> {
  checkNoteText(text);
  const keyHash = noteKeyHash(name, publicKey);
  const signature = await sign(Buffer.from(text, 'utf8'));
  if (signature.length !== 64) throw new NoteVerificationError(`an Ed25519 signature is 64 bytes, the signer gave ${signature.length}`);
  return `${text}\n${SIGNATURE_PREFIX}${name} ${Buffer.concat([keyHash, signature]).toString('base64')}\n`;
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteVerificationError('the note text must end with a newline');
  if (text.includes('\n\n')) throw new NoteVerificationError('the note text must not hold a blank line');
  if (/[\u0000-\u0009\u000b-\u001f]/u.test(text)) throw new NoteVerificationError('the note text holds a control character');
}

/**
 * Verifies a signed note with the one key the caller trusts and returns its text. Refused when the
 * note is malformed, carries no signature of that key name and hash, or that signature is wrong.
 */
export function openNote(note: string, name: string, publicKey: KeyObject): string {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteVerificationError('the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  checkNoteText(text);
  const signatureBlock = note.slice(split + 2);
  if (!signatureBlock.endsWith('\n')) throw new NoteVerificationError('the note does not end with a newline');
  const lines = signatureBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteVerificationError(`the note has more than ${MAX_SIGNATURES} signatures`);
  const wanted = noteKeyHash(name, publicKey);
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteVerificationError(`a signature line does not start with "— ": ${JSON.stringify(line.slice(0, 40))}`);
    const parts = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (parts.length !== 2) throw new NoteVerificationError('a signature line is not "— <name> <signature>"');
    const [lineName, encoded] = parts as [string, string];
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length < 5 || bytes.toString('base64') !== encoded) throw new NoteVerificationError(`the signature of ${lineName} is not base64 of a key hash and a signature`);
    if (lineName !== name || !bytes.subarray(0, 4).equals(wanted)) continue;
    if (bytes.length !== 68 || !verify(null, Buffer.from(text, 'utf8'), publicKey, bytes.subarray(4))) {
      throw new NoteVerificationError(`the signature of ${name} does not verify with the given public key`);
    }
    return text;
  }
  throw new NoteVerificationError(`the note carries no signature of key ${name} with key hash ${wanted.toString('hex')} (is it the right public key?)`);
}

/** A checkpoint's body: origin, tree size, root hash, and extension lines. */
export interface CheckpointBody {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Buffer;
  /** Extension lines after the root (ForgeOne writes one: `time <RFC 3339>`). */
  readonly extensions: readonly string[];
}

/** The note text of a checkpoint (C2SP tlog-checkpoint): origin, decimal size, base64 root, extensions. */
export function checkpointText(body: CheckpointBody): string {
  if (body.origin.length === 0 || body.origin.includes('\n')) throw new NoteVerificationError('the checkpoint origin must be one non-empty line');
  if (!Number.isSafeInteger(body.treeSize) || body.treeSize < 0) throw new NoteVerificationError(`the tree size must be a non-negative integer, got ${body.treeSize}`);
  if (body.rootHash.length !== 32) throw new NoteVerificationError('the root hash must be 32 bytes');
  for (const line of body.extensions) if (line.length === 0 || line.includes('\n')) throw new NoteVerificationError('an extension line must be one non-empty line');
  return [body.origin, String(body.treeSize), body.rootHash.toString('base64'), ...body.extensions].join('\n') + '\n';
}

/** Reads a checkpoint's note text (already verified by {@link openNote}); refuses anything malformed. */
export function parseCheckpointText(text: string): CheckpointBody {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new NoteVerificationError('a checkpoint has an origin, a size and a root hash, each on its own line');
  const [origin, size, root, ...rest] = lines.slice(0, -1) as [string, string, string, ...string[]];
  if (!origin) throw new NoteVerificationError('the checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) throw new NoteVerificationError(`the checkpoint size "${size}" is not a decimal number without leading zeros`);
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) throw new NoteVerificationError('the checkpoint root is not base64 of 32 bytes');
  return { origin, treeSize: Number(size), rootHash, extensions: rest };
}

/** Verifies a signed checkpoint note with the log's key and origin and returns its body. */
export function openCheckpoint(note: string, origin: string, publicKey: KeyObject): CheckpointBody {
  const body = parseCheckpointText(openNote(note, origin, publicKey));
  if (body.origin !== origin) throw new NoteVerificationError(`the checkpoint is for origin ${body.origin}, not ${origin}`);
  return body;
}
