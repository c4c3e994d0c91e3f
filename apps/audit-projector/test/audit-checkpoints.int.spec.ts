import { createHash, createPrivateKey, createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { BusClient, connectNats } from '@forgeone/bus';
import { names as namesFor, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, tenantAggregateId } from '@forgeone/contracts';
import type { NewEvent } from '@forgeone/event-store';
import { auditCheckpoint, auditCheckpoints, auditConsistencyProof, auditInclusionProof, createDataSource } from '@forgeone/persistence';
import { InMemorySigningKeyProvider } from '@forgeone/signing';
import {
  createTestDatabase,
  createTestEventWriters,
  eventually,
  provisionTestStorage,
  removeNamespace,
  testNamespace,
  TEST_NATS_URL,
  type ServiceProcess,
  type TestDatabase,
} from '@forgeone/test-harness';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAuditProjector } from './audit-projector.process.js';
import { AuditCheckpointSigner } from '../src/audit-checkpoint.signer.js';

// ---- An independent verifier, written from RFC 9162 §2.1.3.2 and §2.1.4.2 and C2SP signed-note,
// sharing no code with what it checks. ----
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
};
const interior = (l: Uint8Array, r: Uint8Array) => sha256(Uint8Array.of(1), l, r);

function rootFromInclusion(index: number, size: number, leaf: Buffer, path: Buffer[]): Buffer | null {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = interior(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else r = interior(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
}

function consistent(first: number, second: number, firstHash: Buffer, secondHash: Buffer, proof: Buffer[]): boolean {
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstHash, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = interior(c, fr);
      sr = interior(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else sr = interior(sr, c);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && fr.equals(firstHash) && sr.equals(secondHash);
}

/** Opens a checkpoint note with node:crypto and the public key only; answers size and root. */
function openNoteIndependently(note: string, origin: string, publicKey: KeyObject): { size: number; root: Buffer } {
  const split = note.lastIndexOf('\n\n');
  const text = note.slice(0, split + 1);
  const [line] = note.slice(split + 2).trimEnd().split('\n');
  expect(line!.startsWith(`\u2014 ${origin} `)).toBe(true);
  const bytes = Buffer.from(line!.split(' ')[2]!, 'base64');
  const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  expect(bytes.subarray(0, 4)).toEqual(sha256(Buffer.from(origin), Uint8Array.of(0x0a, 0x01), raw).subarray(0, 4));
  expect(verify(null, Buffer.from(text), publicKey, bytes.subarray(4))).toBe(true);
  const [o, size, root] = text.split('\n');
  expect(o).toBe(origin);
  return { size: Number(size), root: Buffer.from(root!, 'base64') };
}

const TENANT = 'acme';
const NAME = 'acme/hello';
const DIGEST = `sha256:${'d'.repeat(64)}`;
function published(version: string): NewEvent {
  return {
    id: randomUUID(),
    type: PLUGIN_EVENT_TYPES.versionPublished,
    data: {
      name: NAME,
      version,
      digest: DIGEST,
      sizeBytes: 10,
      manifestDigest: DIGEST,
      manifest: { name: NAME, version, abi: 1, description: 'greets', handlers: ['greet'], capabilities: {}, limits: { memoryMiB: 16, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 1024 } },
      publisher: 'alice',
    },
    time: new Date().toISOString(),
    actor: 'alice',
    tenant: TENANT,
    subject: NAME,
  };
}

describe('audit projector - signed checkpoints', () => {
  const namespace = testNamespace('tlog');
  const names = namesFor(namespace);
  const writers = createTestEventWriters();
  const origin = `forgeone.local/audit/${namespace}`;
  const auditPublicKey = createPublicKey(createPrivateKey({ key: Buffer.from(writers.auditKey.privateKey, 'base64'), format: 'der', type: 'pkcs8' }));
  let db: TestDatabase;
  let ds: DataSource;
  let nc: NatsConnection;
  const processes: ServiceProcess[] = [];
  let version = 0;

  const appendEvents = async (count: number) => {
    const registry = writers.store(nc, names, 'registry');
    let last = 0;
    for (let i = 0; i < count; i += 1) {
      version += 1;
      [{ sequence: last }] = await registry.append(PLUGIN_AGGREGATE, tenantAggregateId(TENANT, NAME), [published(`1.0.${version}`)], { expectedSequence: 'any' });
    }
    return last;
  };
  const projectedUpTo = async () => Number((await ds.query(`SELECT last_sequence FROM projection_checkpoint WHERE projector = 'audit-projector'`))[0]?.last_sequence ?? 0);
  const waitProjected = (sequence: number) => eventually(async () => (await projectedUpTo()) >= sequence, `projected up to ${sequence}\n${processes[0]?.output()}`);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 600));

  beforeAll(async () => {
    db = await createTestDatabase();
    nc = await connectNats(TEST_NATS_URL, 'tlog-test');
    await provisionTestStorage(namespace);
    const projector = spawnAuditProjector({
      namespace,
      databaseUrl: db.url,
      writerEnv: writers.env('audit-projector'),
      env: { FORGEONE_AUDIT_CHECKPOINT_EVENTS: '3', FORGEONE_AUDIT_CHECKPOINT_INTERVAL_MS: '3600000' },
    });
    processes.push(projector);
    await eventually(() => new BusClient(nc, names).checkHealth('audit-projector').then((h) => h.ready), `projector ready\n${projector.output()}`);
    ds = await createDataSource(db.url, { applicationName: 'fo-tlog-test' }).initialize();
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    if (ds?.isInitialized) await ds.destroy();
    await nc?.close();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('checkpoints - none after N-1 events; one after N, signed with the audit key over the tree root; none when only checkpoints were added since', { timeout: 60_000 }, async () => {
    await waitProjected(await appendEvents(2));
    await settle();
    expect(await auditCheckpoints(ds.manager, 0, 10)).toEqual([]);

    await appendEvents(1);
    const first = await eventually(() => auditCheckpoint(ds.manager), `a checkpoint\n${processes[0]!.output()}`);
    expect(first.treeSize).toBe(3);
    expect(first.origin).toBe(origin);
    const opened = openNoteIndependently(first.note, origin, auditPublicKey);
    expect(opened).toEqual({ size: 3, root: Buffer.from(first.rootHash, 'hex') });
    // A note someone altered does not verify with the key.
    const altered = first.note.replace(`\n3\n`, `\n4\n`);
    const split = altered.lastIndexOf('\n\n');
    const sig = Buffer.from(altered.slice(split + 2).trim().split(' ')[2]!, 'base64').subarray(4);
    expect(verify(null, Buffer.from(altered.slice(0, split + 1)), auditPublicKey, sig)).toBe(false);

    // The checkpoint's own event is the next leaf; it alone does not make another checkpoint.
    await waitProjected(first.sequence);
    await settle();
    expect((await auditCheckpoints(ds.manager, 0, 10)).map((c) => c.treeSize)).toEqual([3]);
    const own = await ds.query(`SELECT leaf_index, type, tenant FROM audit_log WHERE sequence = $1`, [first.sequence]);
    expect(own).toEqual([{ leaf_index: '3', type: 'io.forgeone.audit.checkpoint_signed.v1', tenant: 'default' }]);
  });

  it('checkpoints - the timer path signs only when rows besides checkpoints were added; proofs verify independently against the signed roots', { timeout: 60_000 }, async () => {
    const key = new InMemorySigningKeyProvider(createPrivateKey({ key: Buffer.from(writers.auditKey.privateKey, 'base64'), format: 'der', type: 'pkcs8' }));
    const signer = new AuditCheckpointSigner(ds, writers.store(nc, names, 'audit-projector'), key, { everyEvents: 1000, intervalMs: 3_600_000, origin }, pino({ level: 'silent' }));
    expect(await signer.signIfDue()).toBeUndefined();

    const last = await appendEvents(2);
    await waitProjected(last);
    const second = await signer.signIfDue();
    expect(second?.treeSize).toBe(6);
    const stored = await eventually(() => auditCheckpoint(ds.manager, 6), 'second checkpoint projected');
    const first = (await auditCheckpoint(ds.manager, 3))!;

    const consistency = await auditConsistencyProof(ds, { from: 3, to: 6 });
    const r1 = openNoteIndependently(first.note, origin, auditPublicKey);
    const r2 = openNoteIndependently(stored.note, origin, auditPublicKey);
    expect(consistent(3, 6, r1.root, r2.root, consistency.proof.map((h) => Buffer.from(h, 'hex')))).toBe(true);
    const swapped = consistency.proof.map((h) => Buffer.from(h, 'hex')).reverse();
    expect(consistent(3, 6, r1.root, r2.root, swapped)).toBe(false);

    const proof = await auditInclusionProof(ds, { tenant: TENANT, sequence: last });
    expect(proof.treeSize).toBe(6);
    const leaf = sha256(Uint8Array.of(0), Buffer.from(proof.leaf, 'utf8'));
    expect(leaf.toString('hex')).toBe(proof.leafHash);
    expect(JSON.parse(proof.leaf)).toMatchObject({ sequence: last, tenant: TENANT, tenantSequence: 5 });
    expect(rootFromInclusion(proof.leafIndex, proof.treeSize, leaf, proof.path.map((h) => Buffer.from(h, 'hex')))?.equals(r2.root)).toBe(true);
    expect(rootFromInclusion(proof.leafIndex, proof.treeSize, sha256(Uint8Array.of(0), Buffer.from(proof.leaf.replace('"acme"', '"other"'))), proof.path.map((h) => Buffer.from(h, 'hex')))?.equals(r2.root)).toBe(false);

    await expect(auditInclusionProof(ds, { tenant: 'globex', sequence: last })).rejects.toMatchObject({ code: 'QUERY.NOT_FOUND' });
  });
});
