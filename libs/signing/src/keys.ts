import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { ForgeOneError } from '@forgeone/contracts';
import { sha256Hex } from './dsse.js';

/** A PEM key pair as `forgeone keys generate` writes it. */
export interface GeneratedKeyPair {
  /** PKCS#8 PEM; encrypted with aes-256-cbc when a passphrase was given. */
  readonly privateKeyPem: string;
  /** SPKI PEM: what `forgeone keys trust` takes. */
  readonly publicKeyPem: string;
  readonly keyId: string;
}

/** Generates an Ed25519 key pair. */
export function generateKeyPair(options: { passphrase?: string } = {}): GeneratedKeyPair {
  const { passphrase } = options;
  if (passphrase !== undefined && passphrase.length === 0) throw new ForgeOneError('KEY.INVALID', 'the passphrase is empty; give a passphrase or none');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const privateKeyPem = privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    ...(passphrase !== undefined ? { cipher: 'aes-256-cbc', passphrase } : {}),
  }) as string;
  return { privateKeyPem, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, keyId: keyIdOf(publicKey) };
}

/**
 * The key id: lowercase hex sha256 of the public key's SPKI DER encoding. Accepts a public key, a
 * private key (its public half is used) or a public key PEM.
 */
export function keyIdOf(key: KeyObject | string): string {
  const publicKey = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(publicKey.export({ type: 'spki', format: 'der' }));
}

/** Parses an Ed25519 public key PEM; throws KEY.INVALID naming what is wrong. */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new ForgeOneError('KEY.INVALID', `the public key is not a PEM public key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ForgeOneError('KEY.INVALID', `the public key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not Ed25519; generate one with forgeone keys generate`);
  }
  return key;
}

/** Parses an Ed25519 private key PEM (PKCS#8, encrypted or not); throws KEY.INVALID naming what is wrong. */
export function loadPrivateKey(pem: string, passphrase?: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) });
  } catch (error) {
    const message = (error as Error).message;
    const hint = /passphrase|decrypt|bad decrypt/i.test(message) ? ' (is the passphrase right?)' : '';
    throw new ForgeOneError('KEY.INVALID', `the private key cannot be read${hint}: ${message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ForgeOneError('KEY.INVALID', `the private key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not Ed25519; generate one with forgeone keys generate`);
  }
  return key;
}

/** A key as signing functions take it: a KeyObject or an unencrypted PEM. */
export type PrivateKeyInput = KeyObject | string;

export function toPrivateKey(key: PrivateKeyInput): KeyObject {
  return key instanceof KeyObject ? (assertEd25519Private(key), key) : loadPrivateKey(key);
}

function assertEd25519Private(key: KeyObject): void {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new ForgeOneError('KEY.INVALID', 'signing needs an Ed25519 private key');
  }
}
