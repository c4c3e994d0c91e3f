import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_AUTHORSHIP_ENV, HEADERS, type Names, type ServiceName } from '@forgeone/contracts';
import { EventAuthorship, JetStreamEventStore, eventSignature, eventWriters, generateEventWriterKey, parseWriterKeys } from '@forgeone/event-store';
import type { NatsConnection } from '@nats-io/transport-node';

/** One writer's key pair as the environment carries it (base64 PKCS#8 DER and SPKI DER). */
export interface TestWriterKey {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** Event-writer keys made for one test run, and the ways tests use them. */
export interface TestEventWriters {
  readonly keys: Readonly<Partial<Record<ServiceName, TestWriterKey>>>;
  /** FORGEONE_EVENT_WRITER_KEYS of this run. */
  readonly writerKeysJson: string;
  /** The audit log's checkpoint key of this run (base64 PKCS#8 DER), given to the audit-projector as FORGEONE_AUDIT_KEY. */
  readonly auditKey: TestWriterKey;
  /** A service's event variables: the pinned keys, its own signing key when it writes, the cut-over (default 0); the audit key for the audit-projector. */
  env(service: ServiceName, unsignedUntil?: number): Record<string, string>;
  /** Authorship that verifies with the pinned keys and, given a writer, signs as it. */
  authorship(names: Names, writer?: ServiceName, unsignedUntil?: number): EventAuthorship;
  /** An event store that appends as `writer` (or only reads) and verifies every read. */
  store(nc: NatsConnection, names: Names, writer?: ServiceName): JetStreamEventStore;
  /**
   * The writer and signature headers of `writer`'s genuine key over any subject and payload, with
   * no ownership check: what a thief of that key (or a writer gone astray) could publish.
   */
  signatureHeaders(writer: ServiceName, subject: string, payload: Uint8Array): Record<string, string>;
}

/** Fresh Ed25519 keys for every writing service, so a test appends and reads signed events like the platform. */
export function createTestEventWriters(): TestEventWriters {
  const keys: Partial<Record<ServiceName, TestWriterKey>> = {};
  for (const writer of eventWriters()) keys[writer] = generateEventWriterKey();
  const writerKeysJson = JSON.stringify(Object.fromEntries(Object.entries(keys).map(([service, key]) => [service, key.publicKey])));
  const pinned = parseWriterKeys(writerKeysJson);
  const auditKey = generateEventWriterKey();
  const privateKeyOf = (writer: ServiceName) => {
    const own = keys[writer];
    if (!own) throw new Error(`${writer} writes no events, so it has no key`);
    return createPrivateKey({ key: Buffer.from(own.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  };
  const authorship = (names: Names, writer?: ServiceName, unsignedUntil = 0) => {
    return new EventAuthorship({ names, writerKeys: pinned, unsignedUntil, ...(writer ? { signer: { service: writer, privateKey: privateKeyOf(writer) } } : {}) });
  };
  return {
    keys,
    writerKeysJson,
    auditKey,
    env: (service, unsignedUntil = 0) => ({
      [EVENT_AUTHORSHIP_ENV.writerKeys]: writerKeysJson,
      [EVENT_AUTHORSHIP_ENV.unsignedUntil]: String(unsignedUntil),
      ...(keys[service] ? { [EVENT_AUTHORSHIP_ENV.signingKey]: keys[service].privateKey } : {}),
      ...(service === 'audit-projector' ? { FORGEONE_AUDIT_KEY: auditKey.privateKey } : {}),
    }),
    authorship,
    store: (nc, names, writer) => new JetStreamEventStore(nc, names, { authorship: authorship(names, writer) }),
    signatureHeaders: (writer, subject, payload) => ({
      [HEADERS.eventWriter]: writer,
      [HEADERS.eventSignature]: eventSignature(writer, privateKeyOf(writer), subject, payload),
    }),
  };
}

/** The base64 SPKI DER public key of a base64 PKCS#8 DER private key (to pin a key a test made itself). */
export function publicKeyOf(privateKey: string): string {
  return createPublicKey(createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).toString('base64');
}

/**
 * A reading event store for a platform `startTestPlatform` started: it verifies with the writer keys
 * that platform's `npm start` pinned in its data folder (`secrets/event-writers.json`).
 */
export function platformEventReader(nc: NatsConnection, names: Names, dataDir: string): JetStreamEventStore {
  const file = join(dataDir, 'secrets', 'event-writers.json');
  const secrets = JSON.parse(readFileSync(file, 'utf8')) as { unsignedUntil: number; writers: Record<string, { publicKey: string }> };
  const writerKeys = parseWriterKeys(JSON.stringify(Object.fromEntries(Object.entries(secrets.writers).map(([writer, key]) => [writer, key.publicKey]))));
  return new JetStreamEventStore(nc, names, { authorship: new EventAuthorship({ names, writerKeys, unsignedUntil: secrets.unsignedUntil }) });
}

/**
 * The authorship headers a stored event carries (writer, signature and, for a batch-signed one, its
 * proof), to publish its genuine bytes again as a replay would.
 */
export function proofHeadersOf(stored: { get(name: string): string; has(name: string): boolean }): Record<string, string> {
  return Object.fromEntries([HEADERS.eventWriter, HEADERS.eventSignature, HEADERS.eventProof].filter((name) => stored.has(name)).map((name) => [name, stored.get(name)]));
}
