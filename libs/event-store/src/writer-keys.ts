import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EVENT_AUTHORSHIP_ENV, SERVICES, aggregatesOwnedBy, type ServiceName } from '@forgeone/contracts';

const WRITERS: readonly ServiceName[] = SERVICES.filter((service) => aggregatesOwnedBy(service).length > 0);

/** The services that own an aggregate and so sign events: each needs a key pair. */
export function eventWriters(): readonly ServiceName[] {
  return WRITERS;
}

/** Whether `name` is a service that writes events. */
export function isEventWriter(name: string): name is ServiceName {
  return (WRITERS as readonly string[]).includes(name);
}

/** A fresh Ed25519 key pair in the encodings the environment variables use (base64 PKCS#8 DER, base64 SPKI DER). */
export function generateEventWriterKey(): { readonly privateKey: string; readonly publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: spkiOf(publicKey).toString('base64'),
  };
}

/** Parses FORGEONE_EVENT_WRITER_KEYS; throws naming the variable and the writer that is wrong or missing. */
export function parseWriterKeys(json: string | undefined): Map<ServiceName, KeyObject> {
  const variable = EVENT_AUTHORSHIP_ENV.writerKeys;
  if (json === undefined || json.trim() === '') {
    throw new Error(`${variable} is not set: every service needs the pinned Ed25519 public keys of the event writers (${WRITERS.join(', ')}) as JSON {"<service>":"<base64 SPKI DER>"}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${variable} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${variable} must be a JSON object {"<service>":"<base64 SPKI DER>"}`);
  const keys = new Map<ServiceName, KeyObject>();
  for (const [service, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!isEventWriter(service)) throw new Error(`${variable}.${service}: not a service that writes events (writers: ${WRITERS.join(', ')})`);
    if (typeof value !== 'string') throw new Error(`${variable}.${service}: must be a base64 SPKI DER public key`);
    keys.set(service, parseKey(value, 'public', `${variable}.${service}`));
  }
  const missing = WRITERS.filter((writer) => !keys.has(writer));
  if (missing.length > 0) throw new Error(`${variable} has no key for ${missing.join(', ')}: events of those services could not be verified`);
  return keys;
}

/** Parses FORGEONE_EVENT_UNSIGNED_UNTIL (default 0). */
export function parseUnsignedUntil(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new Error(`${EVENT_AUTHORSHIP_ENV.unsignedUntil} must be a stream sequence (a non-negative integer), got "${value.slice(0, 40)}"`);
  }
  return Number(trimmed);
}

/** A base64 DER key (SPKI for public, PKCS#8 for private) that must be Ed25519; throws naming `what`. */
export function parseKey(base64: string, kind: 'public' | 'private', what: string): KeyObject {
  const text = base64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error(`${what}: must be base64 DER (${kind === 'public' ? 'SPKI' : 'PKCS#8'}) without line breaks`);
  let key: KeyObject;
  try {
    const der = Buffer.from(text, 'base64');
    key = kind === 'public' ? createPublicKey({ key: der, format: 'der', type: 'spki' }) : createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new Error(`${what}: not a ${kind === 'public' ? 'SPKI' : 'PKCS#8'} DER key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what}: must be an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

export function assertEd25519(key: KeyObject, type: 'public' | 'private', what: string): void {
  if (key.type !== type || key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} must be an Ed25519 ${type} key`);
}

/** Whether `privateKey` is the private half of `publicKey`. */
export function sameKeyPair(privateKey: KeyObject, publicKey: KeyObject): boolean {
  return spkiOf(createPublicKey(privateKey)).equals(spkiOf(publicKey));
}

function spkiOf(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}
