import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupError, verifyBackup } from './platform-backup.js';

const files: Record<string, string> = {
  'postgres/database.dump': 'dump',
  'nats/FORGEONE_EVENTS.tar.s2': 'events',
  'secrets/audit-key.pem': 'key',
};

function manifest(overrides: Record<string, unknown> = {}) {
  const sums = Object.fromEntries(Object.entries(files).map(([file, text]) => [file, { sha256: createHash('sha256').update(text).digest('hex'), bytes: text.length }]));
  return {
    format: 'forgeone-backup',
    version: 1,
    createdAt: '2026-12-07T18:00:00.000Z',
    namespace: '',
    postgres: { file: 'postgres/database.dump', takenAt: '2026-12-07T18:00:00.000Z' },
    streams: [{ label: 'event stream', file: 'nats/FORGEONE_EVENTS.tar.s2', meta: { config: { name: 'FORGEONE_EVENTS' }, state: { messages: 3, first_seq: 1, last_seq: 3 } } }],
    secrets: ['secrets/audit-key.pem'],
    files: sums,
    ...overrides,
  };
}

describe('backup manifest - verifyBackup', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'forgeone-manifest-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest()));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('backup manifest - accepts a folder whose files match', async () => {
    expect((await verifyBackup(dir)).streams[0]!.meta.state.last_seq).toBe(3);
  });

  it('backup manifest - names a changed, a missing and an unlisted file', async () => {
    writeFileSync(join(dir, 'nats/FORGEONE_EVENTS.tar.s2'), 'evenTs');
    unlinkSync(join(dir, 'secrets/audit-key.pem'));
    writeFileSync(join(dir, 'postgres/more.sql'), 'x');
    const error = await verifyBackup(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect((error as BackupError).code).toBe('BACKUP.INVALID');
    expect((error as Error).message).toMatch(/nats\/FORGEONE_EVENTS\.tar\.s2 does not match the manifest/);
    expect((error as Error).message).toContain('secrets/audit-key.pem is missing');
    expect((error as Error).message).toContain('postgres/more.sql is not in the manifest');
  });

  it('backup manifest - refuses a path outside the folder, a file used without a checksum, and a foreign manifest', async () => {
    const sums = manifest().files;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest({ files: { ...sums, '../outside': sums['postgres/database.dump'] }, secrets: ['secrets/audit-key.pem', 'secrets/other'] })));
    const error = (await verifyBackup(dir).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('../outside points outside the backup folder');
    expect(error.message).toContain('secrets/other is used but has no checksum in the manifest');

    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'other' }));
    await expect(verifyBackup(dir)).rejects.toThrow(/is not a ForgeOne backup manifest \(format forgeone-backup 1\): format: /);
    unlinkSync(join(dir, 'manifest.json'));
    await expect(verifyBackup(dir)).rejects.toThrow(/manifest\.json cannot be read: it is missing/);
  });
});
