import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropNameProblem, dropSnapshot, inspectDropFolder, rejectionFileName, type DropLimits } from './drop-folder.checks.js';

const LIMITS: DropLimits = { moduleBytes: 64, manifestBytes: 32, signatureBytes: 16 };
const MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

let dir: string;
let outside: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forgeone-drops-'));
  outside = await mkdtemp(join(tmpdir(), 'forgeone-outside-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

async function drop(name: string, files: Record<string, string | Uint8Array> = { 'forgeone.plugin.json': '{}', 'plugin.wasm': MODULE }): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  for (const [file, content] of Object.entries(files)) await writeFile(join(path, file), content);
  return path;
}

describe('drop folder checks', () => {
  it('names - a plain name passes; "..", separators, absolute paths and control characters are refused', () => {
    expect(dropNameProblem(dir, 'greeter')).toBeUndefined();
    expect(dropNameProblem(dir, 'greeter.v2_final-1')).toBeUndefined();
    expect(dropNameProblem(dir, '..')).toMatch(/starts with "\.\."/);
    expect(dropNameProblem(dir, '../etc')).toMatch(/outside the watched directory/);
    expect(dropNameProblem(dir, '..\\escape')).toMatch(/starts with "\.\."/);
    expect(dropNameProblem(dir, 'a/b')).toMatch(/path separator/);
    expect(dropNameProblem(dir, 'a\\..\\..\\b')).toMatch(/path separator/);
    expect(dropNameProblem(dir, '/etc/passwd')).toMatch(/absolute path/);
    expect(dropNameProblem(dir, 'bell\u0007')).toMatch(/control character/);
    expect(dropNameProblem(dir, 'x'.repeat(256))).toMatch(/longer than 255/);
  });

  it('rejection file names - plain names as they are, any other name spelled so it stays one file in .forgeone/rejected', () => {
    expect(rejectionFileName('greeter')).toBe('greeter.txt');
    expect(rejectionFileName('..\\escape')).toBe('~2e~2e~5cescape.txt');
    expect(rejectionFileName('../../etc/passwd')).not.toMatch(/[/\\]|\.\./);
  });

  it('a complete folder is ready; signed when it holds plugin.sig.json', async () => {
    await drop('ready');
    expect(await inspectDropFolder(dir, 'ready', LIMITS)).toMatchObject({ kind: 'ready', path: join(dir, 'ready'), signed: false });
    await drop('signed', { 'forgeone.plugin.json': '{}', 'plugin.wasm': MODULE, 'plugin.sig.json': '{}' });
    expect(await inspectDropFolder(dir, 'signed', LIMITS)).toMatchObject({ kind: 'ready', signed: true });
  });

  it('hidden folders and plain files next to the drops are ignored; a folder that is gone is absent', async () => {
    await drop('.assembling');
    await writeFile(join(dir, '.gitkeep'), '');
    await writeFile(join(dir, 'README.txt'), 'drop plugin folders here');
    expect(await inspectDropFolder(dir, '.assembling', LIMITS)).toMatchObject({ kind: 'ignored' });
    expect(await inspectDropFolder(dir, 'README.txt', LIMITS)).toMatchObject({ kind: 'ignored' });
    expect(await inspectDropFolder(dir, 'never-there', LIMITS)).toEqual({ kind: 'absent' });
  });

  it('a name leading out of DIR is refused before anything is looked at', async () => {
    expect(await inspectDropFolder(dir, '../outside', LIMITS)).toMatchObject({ kind: 'rejected', check: 'name' });
  });

  it('symbolic links - the folder or any of its files - are refused, never followed', async () => {
    const real = join(outside, 'real');
    await mkdir(real);
    await writeFile(join(real, 'forgeone.plugin.json'), '{}');
    await writeFile(join(real, 'plugin.wasm'), MODULE);
    await symlink(real, join(dir, 'linked'));
    expect(await inspectDropFolder(dir, 'linked', LIMITS)).toMatchObject({ kind: 'rejected', check: 'symlink', reason: expect.stringContaining('linked is a symbolic link') });
    const path = await drop('file-linked', { 'forgeone.plugin.json': '{}' });
    await symlink(join(real, 'plugin.wasm'), join(path, 'plugin.wasm'));
    expect(await inspectDropFolder(dir, 'file-linked', LIMITS)).toMatchObject({ kind: 'rejected', check: 'symlink', reason: expect.stringContaining('file-linked/plugin.wasm') });
  });

  it('special files - a fifo in place of the module, a fifo in place of the folder - are refused', async () => {
    const path = await drop('piped', { 'forgeone.plugin.json': '{}' });
    execFileSync('mkfifo', [join(path, 'plugin.wasm')]);
    expect(await inspectDropFolder(dir, 'piped', LIMITS)).toMatchObject({ kind: 'rejected', check: 'special-file', reason: expect.stringContaining('named pipe') });
    execFileSync('mkfifo', [join(dir, 'pipe-folder')]);
    expect(await inspectDropFolder(dir, 'pipe-folder', LIMITS)).toMatchObject({ kind: 'rejected', check: 'special-file' });
    const nested = await drop('nested', { 'plugin.wasm': MODULE });
    await mkdir(join(nested, 'forgeone.plugin.json'));
    expect(await inspectDropFolder(dir, 'nested', LIMITS)).toMatchObject({ kind: 'rejected', check: 'special-file', reason: expect.stringContaining('a folder, not a regular file') });
  });

  it('sizes - a module, manifest or signature over its limit is refused with the sizes named', async () => {
    await drop('big-module', { 'forgeone.plugin.json': '{}', 'plugin.wasm': new Uint8Array(65) });
    expect(await inspectDropFolder(dir, 'big-module', LIMITS)).toMatchObject({ kind: 'rejected', check: 'too-large', reason: expect.stringContaining('65 bytes, over the limit of 64 bytes') });
    await drop('big-manifest', { 'forgeone.plugin.json': ' '.repeat(33), 'plugin.wasm': MODULE });
    expect(await inspectDropFolder(dir, 'big-manifest', LIMITS)).toMatchObject({ kind: 'rejected', check: 'too-large' });
    await drop('big-signature', { 'forgeone.plugin.json': '{}', 'plugin.wasm': MODULE, 'plugin.sig.json': 'x'.repeat(17) });
    expect(await inspectDropFolder(dir, 'big-signature', LIMITS)).toMatchObject({ kind: 'rejected', check: 'too-large' });
    await drop('at-limit', { 'forgeone.plugin.json': '{}', 'plugin.wasm': new Uint8Array(64) });
    expect(await inspectDropFolder(dir, 'at-limit', LIMITS)).toMatchObject({ kind: 'ready' });
  });

  it('a missing manifest or module is named', async () => {
    await drop('no-module', { 'forgeone.plugin.json': '{}' });
    expect(await inspectDropFolder(dir, 'no-module', LIMITS)).toMatchObject({ kind: 'rejected', check: 'missing-file', reason: expect.stringContaining('no-module/plugin.wasm is missing') });
  });

  it('snapshots - change when a file grows or is replaced by rename, not otherwise', async () => {
    const path = await drop('growing');
    const first = await dropSnapshot(path);
    expect(await dropSnapshot(path)).toBe(first);
    await writeFile(join(path, 'plugin.wasm'), new Uint8Array([...MODULE, 0]));
    const grown = await dropSnapshot(path);
    expect(grown).not.toBe(first);
    await writeFile(join(path, 'next.wasm'), new Uint8Array([...MODULE, 0]));
    execFileSync('mv', [join(path, 'next.wasm'), join(path, 'plugin.wasm')]);
    expect(await dropSnapshot(path)).not.toBe(grown);
  });
});
