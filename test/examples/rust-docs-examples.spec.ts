// The Rust examples of docs/abi.md (§9) and sdk/rust/README.md, extracted from the documents and built
// as written (only the SDK's path is pointed at this checkout), then run in the sandbox, so the
// documents cannot drift from the SDK.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PluginManifestSchema } from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { SandboxHost, type HostCallContext, type SandboxCallResult } from '@forgeone/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES module shared with examples/plugins/build.mjs, no type declarations
import { buildRust } from '../../examples/plugins/plugin-builder.mjs';

const root = join(import.meta.dirname, '..', '..');
const sdk = join(root, 'sdk', 'rust');
const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value);

/** The `<!-- example: NAME -->` blocks of a document, by name. */
function examplesIn(document: string): Map<string, string> {
  const text = readFileSync(join(root, document), 'utf8');
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/<!-- example: (\S+) -->\n```\w+\n([\s\S]*?)\n```/g)) blocks.set(match[1], `${match[2]}\n`);
  return blocks;
}

/** Writes a document's example crate into `dir` and builds it; the SDK dependency must be the one the documents name. */
async function buildDocumentCrate(document: string, dir: string): Promise<{ wasm: Uint8Array; files: Map<string, string> }> {
  const files = examplesIn(document);
  const cargo = files.get('Cargo.toml');
  if (cargo === undefined || !files.has('src/lib.rs')) throw new Error(`${document} lacks the Cargo.toml or src/lib.rs example`);
  const dependency = 'forgeone-plugin-sdk = { path = "../forgeone/sdk/rust" }';
  if (!cargo.includes(dependency)) throw new Error(`${document}'s Cargo.toml does not depend on the SDK as ${dependency}`);
  for (const [name, content] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), name === 'Cargo.toml' ? `${content.replace(dependency, `forgeone-plugin-sdk = { path = ${JSON.stringify(sdk)} }`)}\n[workspace]\n` : content);
  }
  return { wasm: await (buildRust as (dir: string, options: { locked: boolean }) => Promise<Uint8Array>)(dir, { locked: false }), files };
}

function output(result: SandboxCallResult): string {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return new TextDecoder().decode(result.output);
}

describe('Rust examples in the documents', () => {
  let work: string;
  const store = new Map<string, Uint8Array>();
  const host = new SandboxHost({
    hooks: {
      kvGet: async (_ctx: HostCallContext, key: string) => store.get(key),
      kvSet: async (_ctx: HostCallContext, key: string, value: Uint8Array) => void store.set(key, value),
    },
  });

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-rust-docs-'));
  });
  afterAll(async () => {
    await host.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('docs/abi.md §9 - the shout crate builds as written and shouts, or fails with its message', async () => {
    const { wasm } = await buildDocumentCrate('docs/abi.md', join(work, 'shout'));
    expect(validatePluginModule(wasm, { handlers: ['shout'], abi: 1 }).hostImports).toEqual(['error']);
    await host.load({ key: 'docs/shout@1.0.0', wasm, handlers: ['shout'], capabilities: {}, limits: { memoryMiB: 2, fuel: 1_000_000, timeoutMs: 1000, maxOutputBytes: 1024 } });
    expect(output(await host.call('docs/shout@1.0.0', 'shout', utf8('hello, straße')))).toBe('HELLO, STRASSE');
    expect(await host.call('docs/shout@1.0.0', 'shout', utf8(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'shout needs some text', details: { result: -1 } } });
  }, 180_000);

  it('sdk/rust/README.md - the worked example builds as written, passes its manifest and counts visits in storage', async () => {
    const { wasm, files } = await buildDocumentCrate('sdk/rust/README.md', join(work, 'greeter'));
    const manifest = PluginManifestSchema.parse(JSON.parse(files.get('forgeone.plugin.json')!));
    const report = validatePluginModule(wasm, { handlers: manifest.handlers, abi: manifest.abi });
    expect(report.requiredCapabilities.filter((c) => !Object.keys(manifest.capabilities).includes(c))).toEqual([]);
    await host.load({ key: 'docs/greeter@1.0.0', wasm, handlers: manifest.handlers, capabilities: manifest.capabilities, limits: manifest.limits });
    const first = await host.call('docs/greeter@1.0.0', 'greet', utf8('ada'));
    expect(output(first)).toBe('hello, ada (visit 1)');
    expect(first.logs).toEqual([{ level: 1, message: 'ada visited 1 time(s)' }]);
    expect(first.metrics).toEqual([{ name: 'greeter.visits', value: 1 }]);
    expect(output(await host.call('docs/greeter@1.0.0', 'greet', utf8(' ada ')))).toBe('hello, ada (visit 2)');
    expect(output(await host.call('docs/greeter@1.0.0', 'greet', utf8('bob')))).toBe('hello, bob (visit 1)');
    expect(await host.call('docs/greeter@1.0.0', 'greet', utf8(' '))).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'greet needs a name' } });
  }, 180_000);
});
