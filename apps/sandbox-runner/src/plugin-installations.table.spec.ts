import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ForgeOneError, PLUGIN_EVENT_TYPES, type CloudEvent, type PluginManifest } from '@forgeone/contracts';
import { SandboxHost } from '@forgeone/sandbox';
import { createLogger } from '@forgeone/telemetry';
import { repoRoot } from '@forgeone/test-harness';
import wabtInit from 'wabt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginInstallations } from './plugin-installations.table.js';

const helloDir = join(repoRoot(), 'examples', 'plugins', 'hello');
const helloWat = readFileSync(join(helloDir, 'plugin.wat'), 'utf8');
const helloManifest = JSON.parse(readFileSync(join(helloDir, 'forgeone.plugin.json'), 'utf8')) as PluginManifest;
const NAME = 'acme/swap';
const TENANT = 'acme';

async function wat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('plugin.wat', text);
  try {
    module.resolveNames();
    return new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

const event = (type: string, data: Record<string, unknown>) => ({ type, tenant: TENANT, data }) as unknown as CloudEvent;
const digestOf = (n: number) => `sha256:${String(n).repeat(64)}`;

describe('PluginInstallations - a swap whose new version cannot be loaded', () => {
  // Caps of 1 MiB: version 3.0.0 asks for 2 MiB of initial memory, which this sandbox refuses.
  const host = new SandboxHost({ caps: { memoryMiB: 1 } });
  const modules = new Map<string, Uint8Array>();
  // Digests whose next read fails as an unreachable store would.
  const unreachable = new Set<string>();
  const table = new PluginInstallations({
    host,
    wasm: async ({ digest }) => {
      if (unreachable.delete(digest)) throw new ForgeOneError('EVENTSTORE.UNAVAILABLE', 'the artifact store did not answer');
      return modules.get(digest)!;
    },
    published: async () => undefined,
    logger: createLogger('sandbox-runner-test', 'silent'),
  });
  const greet = async () => {
    const lease = await table.acquire(TENANT, 'staging', NAME);
    if (!lease) throw new Error('nothing installed');
    try {
      const result = await host.call(lease.installed.key, 'greet', new TextEncoder().encode('x'));
      if (!result.ok) throw result.error;
      return { version: lease.installed.version, output: new TextDecoder().decode(result.output) };
    } finally {
      lease.release();
    }
  };

  beforeAll(async () => {
    const versions: Array<[string, string]> = [
      ['1.0.0', helloWat],
      ['2.0.0', helloWat.replace('(data (i32.const 16) "hello, ")', '(data (i32.const 16) "howdy, ")')],
      ['3.0.0', helloWat.replace('(memory (export "memory") 1 16)', '(memory (export "memory") 32 64)')],
    ];
    for (const [, source] of versions.slice(1)) expect(source).not.toBe(helloWat);
    let sequence = 0;
    for (const [i, [version, source]] of versions.entries()) {
      modules.set(digestOf(i + 1), await wat(source));
      await table.apply(
        event(PLUGIN_EVENT_TYPES.versionPublished, { name: NAME, version, digest: digestOf(i + 1), manifest: { ...helloManifest, name: NAME, version } }),
        ++sequence,
      );
    }
    await table.apply(event(PLUGIN_EVENT_TYPES.installed, { name: NAME, version: '1.0.0', digest: digestOf(1), environment: 'staging' }), 4);
    expect(await greet()).toEqual({ version: '1.0.0', output: 'hello, x' });
  });

  afterAll(() => table.close());

  it('keeps the old version serving and refuses the event while the new one cannot be read; the retry swaps', async () => {
    const upgraded = event(PLUGIN_EVENT_TYPES.upgraded, { name: NAME, fromVersion: '1.0.0', version: '2.0.0', digest: digestOf(2), environment: 'staging' });
    unreachable.add(digestOf(2));
    await expect(table.apply(upgraded, 5)).rejects.toMatchObject({ code: 'EVENTSTORE.UNAVAILABLE' });
    expect(table.sequence).toBe(4);
    expect(await greet()).toEqual({ version: '1.0.0', output: 'hello, x' });

    await table.apply(upgraded, 5);
    expect(table.sequence).toBe(5);
    expect(await greet()).toEqual({ version: '2.0.0', output: 'howdy, x' });
  });

  it('leases a loaded version without waiting, and only a loaded one', async () => {
    const lease = table.acquireLoaded(TENANT, 'staging', NAME);
    expect(lease?.installed.version).toBe('2.0.0');
    lease?.release();
    expect(table.acquireLoaded(TENANT, 'production', NAME)).toBeUndefined();
  });

  it('switches to a version the sandbox refuses (retrying cannot help), and calls answer with its error', async () => {
    await table.apply(event(PLUGIN_EVENT_TYPES.upgraded, { name: NAME, fromVersion: '2.0.0', version: '3.0.0', digest: digestOf(3), environment: 'staging' }), 6);
    expect(table.sequence).toBe(6);
    await expect(greet()).rejects.toMatchObject({ code: 'SANDBOX.MODULE_REJECTED' });
    // A refused module is never leased without the wait that answers its error.
    expect(table.acquireLoaded(TENANT, 'staging', NAME)).toBeUndefined();
  });
});
