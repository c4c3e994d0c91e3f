import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForgeOneError } from '@forgeone/contracts';
import { readPluginFolder } from './plugin-folder.reader.js';

const MANIFEST = {
  name: 'forgeone/hello',
  version: '1.0.0',
  abi: 1,
  description: 'Says hello',
  handlers: ['greet'],
  capabilities: {},
  limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 100, maxOutputBytes: 1024 },
};
// The smallest valid module: magic and version only.
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'forgeone-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  return dir;
}

async function failure(dir: string): Promise<ForgeOneError> {
  const error = await readPluginFolder(dir, root).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ForgeOneError);
  return error as ForgeOneError;
}

describe('readPluginFolder', () => {
  it('reads the manifest as written and the wasm bytes, relative to cwd', async () => {
    await folder('ok', { 'forgeone.plugin.json': `\uFEFF${JSON.stringify(MANIFEST)}`, 'plugin.wasm': EMPTY_MODULE });
    const read = await readPluginFolder('ok', root);
    expect(read.manifest).toEqual(MANIFEST);
    expect([...read.wasm]).toEqual([...EMPTY_MODULE]);
  });

  it('names the missing manifest, the missing wasm and a missing folder', async () => {
    expect((await failure(await folder('no-manifest', { 'plugin.wasm': EMPTY_MODULE }))).message).toMatch(/no-manifest\/forgeone\.plugin\.json is missing/);
    expect((await failure(await folder('no-wasm', { 'forgeone.plugin.json': JSON.stringify(MANIFEST) }))).message).toMatch(/no-wasm\/plugin\.wasm is missing/);
    expect((await failure(join(root, 'absent'))).message).toMatch(/absent does not exist/);
  });

  it('says to pass the folder when given the manifest file', async () => {
    const dir = await folder('file-given', { 'forgeone.plugin.json': '{}' });
    expect((await failure(join(dir, 'forgeone.plugin.json'))).message).toContain(`is a file; give the plugin's folder: try "${dir}"`);
  });

  it('reports malformed JSON with the file, line and column', async () => {
    const dir = await folder('bad-json', { 'forgeone.plugin.json': '{\n  "name": "forgeone/hello",\n  "version": "1.0.0",\n}\n', 'plugin.wasm': EMPTY_MODULE });
    const error = await failure(dir);
    expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
    expect(error.message).toMatch(/bad-json\/forgeone\.plugin\.json is not valid JSON at line 4, column 1: /);
    expect(error.details).toMatchObject({ line: 4, column: 1 });
  });

  it('lists every manifest field that is wrong', async () => {
    const manifest = { ...MANIFEST, version: 'one', colour: 'blue' };
    const error = await failure(await folder('bad-manifest', { 'forgeone.plugin.json': JSON.stringify(manifest), 'plugin.wasm': EMPTY_MODULE }));
    expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
    const problems = error.details?.['problems'] as string[];
    expect(problems.some((p) => p.startsWith('version:'))).toBe(true);
    expect(problems.some((p) => p.includes('"colour"'))).toBe(true);
  });

  it('refuses a wasm file that is not WebAssembly', async () => {
    const error = await failure(await folder('not-wasm', { 'forgeone.plugin.json': JSON.stringify(MANIFEST), 'plugin.wasm': 'hello world' }));
    expect(error.code).toBe('REGISTRY.WASM_INVALID');
  });
});
