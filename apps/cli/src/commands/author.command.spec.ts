// The author's loop on one machine: plugin new, build, test --local, inspect and verify, run as a
// person would with the real toolchains (Debian's cargo, AssemblyScript), the platform's sandbox
// and real signatures. Cargo runs once for this file.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';

const repo = join(import.meta.dirname, '..', '..', '..', '..');

describe('plugin new, build, test --local, inspect, verify', () => {
  let work: string;
  const cli = (...argv: string[]) => runCli(argv, { FORGEONE_API: 'http://127.0.0.1:9' }, work);
  const manifestOf = (dir: string) => JSON.parse(readFileSync(join(work, dir, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
  const writeManifest = (dir: string, manifest: Record<string, unknown>) => writeFileSync(join(work, dir, 'forgeone.plugin.json'), JSON.stringify(manifest, null, 2));

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-author-'));
    expect(await cli('plugin', 'new', 'acme/greeter', '--lang', 'rust')).toMatchObject({ code: 0, stderr: '' });
    const built = await cli('plugin', 'build', 'greeter');
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('plugin new - a Rust folder with a copy of the SDK that builds into a module passing the publish check', async () => {
    const manifest = manifestOf('greeter');
    expect(manifest).toMatchObject({ name: 'acme/greeter', version: '0.1.0', handlers: ['greet'] });
    expect(readFileSync(join(work, 'greeter', 'Cargo.toml'), 'utf8')).toContain('forgeone-plugin-sdk = { path = "forgeone-sdk" }');
    expect(readFileSync(join(work, 'greeter', 'forgeone-sdk', 'Cargo.toml'), 'utf8')).toEqual(readFileSync(join(repo, 'sdk', 'rust', 'Cargo.toml'), 'utf8'));
    expect(readFileSync(join(work, 'greeter', 'plugin.wasm')).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  });

  it('plugin test --local - runs every vector in the sandbox and prints duration and fuel', async () => {
    const result = await cli('plugin', 'test', '--local', 'greeter');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^#\s+HANDLER\s+RESULT\s+DURATION\s+FUEL\s+INPUT\n1\s+greet\s+pass\s+\d+\.\d\d ms\s+\d+\s+"ada"\n2\s+greet\s+pass/);
    expect(result.stdout).toContain('all 2 test vector(s) passed');
    const json = JSON.parse((await cli('plugin', 'test', '--local', 'greeter', '--json')).stdout) as { passed: number; failed: number; results: { fuelUsed: number; output: string }[] };
    expect(json).toMatchObject({ passed: 2, failed: 0 });
    expect(json.results[0]).toMatchObject({ output: 'hello, ada' });
    expect(json.results[0].fuelUsed).toBeGreaterThan(0);
  });

  it('plugin test --local - a wrong expectation fails with exit 1 and shows expected and got', async () => {
    cpSync(join(work, 'greeter'), join(work, 'greeter-wrong'), { recursive: true, filter: (p) => !p.includes('target') });
    const manifest = manifestOf('greeter-wrong');
    writeManifest('greeter-wrong', { ...manifest, tests: [{ handler: 'greet', input: 'ada', expect: 'hi, ada' }, { handler: 'greet', input: '', expect: '' }] });
    const result = await cli('plugin', 'test', '--local', 'greeter-wrong');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/1\s+greet\s+FAIL/);
    expect(result.stdout).toContain('expected: "hi, ada"\n  got:      "hello, ada"');
    expect(result.stdout).toContain('failed: greet needs a name (SANDBOX.GUEST_ERROR)');
    expect(result.stdout).toContain('2 of 2 test vector(s) failed');
  });

  it('plugin inspect - handlers, imports with their capabilities, memory, limits, size, digest and the publish check', async () => {
    const text = await cli('plugin', 'inspect', 'greeter');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/forgeone\.log\s+\(i32, i32, i32\) -> \(\)\s+log/);
    expect(text.stdout).toContain('ABI check: passed');
    const reply = JSON.parse((await cli('plugin', 'inspect', 'greeter/plugin.wasm', '--json')).stdout) as Record<string, unknown>;
    expect(reply).toMatchObject({ abi: 1, handlers: ['greet'], requiredCapabilities: ['log'], check: { ok: true }, memory: { initialPages: 17 } });
    expect(reply['digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(reply['sizeBytes']).toBe(readFileSync(join(work, 'greeter', 'plugin.wasm')).length);
  });

  it('plugin inspect and test --local - a manifest that does not match the exports is refused as publish would', async () => {
    cpSync(join(work, 'greeter'), join(work, 'greeter-renamed'), { recursive: true, filter: (p) => !p.includes('target') });
    const manifest = manifestOf('greeter-renamed');
    writeManifest('greeter-renamed', { ...manifest, handlers: ['welcome'], tests: [{ handler: 'welcome', input: 'ada', expect: 'hello, ada' }] });
    const inspect = await cli('plugin', 'inspect', 'greeter-renamed');
    expect(inspect.code).toBe(1);
    expect(inspect.stdout).toContain('ABI check: FAILED (REGISTRY.WASM_INVALID)');
    expect(inspect.stdout).toContain('missing export welcome');
    const test = await cli('plugin', 'test', '--local', 'greeter-renamed');
    expect(test.code).toBe(1);
    expect(test.stderr).toMatch(/^error: .*missing export welcome.*\(REGISTRY.WASM_INVALID\)/);
    const dryRun = await cli('plugin', 'publish', 'greeter-renamed', '--dry-run');
    expect(dryRun.code).toBe(1);
    expect(dryRun.stdout).toMatch(/FAIL\s+abi: REGISTRY.WASM_INVALID/);
    expect(dryRun.stdout).toContain('nothing was sent or changed');
  });

  it('plugin verify - accepts a folder signed by a given key, refuses another key, a threshold not met and a corrupt signature', async () => {
    for (const who of ['alice', 'bob']) expect((await cli('keys', 'generate', '--out', who)).code).toBe(0);
    expect((await cli('plugin', 'sign', 'greeter', '--key', 'alice/private.pem')).code).toBe(0);
    const ok = await cli('plugin', 'verify', 'greeter', '--key', 'alice/public.pem', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, plugin: 'acme/greeter@0.1.0' });

    const other = await cli('plugin', 'verify', 'greeter', '--key', 'bob/public.pem');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/\(SIGNATURE.UNTRUSTED_KEY\)\n$/);
    const threshold = await cli('plugin', 'verify', 'greeter', '--key', 'alice/public.pem', '--key', 'bob/public.pem', '--threshold', '2');
    expect(threshold.code).toBe(1);
    expect(threshold.stderr).toContain('(SIGNATURE.THRESHOLD_NOT_MET)');

    const path = join(work, 'greeter', 'plugin.sig.json');
    const envelope = JSON.parse(readFileSync(path, 'utf8')) as { signatures: { sig: string }[] };
    const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
    sig[5] ^= 0xff;
    envelope.signatures[0].sig = sig.toString('base64');
    writeFileSync(path, JSON.stringify(envelope));
    const corrupt = await cli('plugin', 'verify', 'greeter', '--key', 'alice/public.pem', '--json');
    expect(corrupt.code).toBe(1);
    expect(corrupt.stdout).toBe('');
    expect((JSON.parse(corrupt.stderr) as { error: { code: string } }).error.code).toMatch(/^SIGNATURE\.(INVALID|UNTRUSTED_KEY)$/);

    writeFileSync(path, '{"payload": 1}');
    const malformed = await cli('plugin', 'verify', 'greeter', '--key', 'alice/public.pem');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('(SIGNATURE.MALFORMED)');
    rmSync(path);
  });

  it('plugin verify - a missing key file, an unsigned folder and bad options are named', async () => {
    const missingKey = await cli('plugin', 'verify', 'greeter', '--key', 'nobody.pem');
    expect(missingKey).toEqual({ code: 1, stdout: '', stderr: `error: ${join(work, 'nobody.pem')} does not exist; give a public key file (public.pem from forgeone keys generate) (COMMAND.INVALID)\n` });
    const unsigned = await cli('plugin', 'verify', 'greeter', '--key', 'alice/public.pem');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('plugin.sig.json does not exist: the plugin is not signed (forgeone plugin sign) (SIGNATURE.MISSING)');
    expect((await cli('plugin', 'verify', 'greeter', '--key', 'alice/public.pem', '--threshold', '0')).code).toBe(2);
    expect((await cli('plugin', 'verify', 'greeter')).stderr).toContain("required option '--key <public.pem>' not specified");
    const notAKey = await cli('plugin', 'verify', 'greeter', '--key', 'greeter/Cargo.toml');
    expect(notAKey.code).toBe(1);
    expect(notAKey.stderr).toContain('(KEY.INVALID)');
  });

  it('plugin new, build, test, inspect - bad input gets a clear message and exit 1 or 2', async () => {
    expect(await cli('plugin', 'new', 'greeter', '--lang', 'rust')).toMatchObject({ code: 2, stderr: expect.stringContaining('"greeter" is not a plugin name: write <publisher>/<plugin>') });
    expect(await cli('plugin', 'new', 'acme/x', '--lang', 'go')).toMatchObject({ code: 2, stderr: expect.stringContaining('--lang "go" is not supported: use rust or assemblyscript') });
    expect(await cli('plugin', 'new', 'acme/greeter', '--lang', 'rust')).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists and is not empty') });
    expect((await cli('plugin', 'new', 'acme/x')).code).toBe(2);

    cpSync(join(work, 'greeter', 'src'), join(work, 'no-manifest', 'src'), { recursive: true });
    for (const argv of [['plugin', 'build', 'no-manifest'], ['plugin', 'test', '--local', 'no-manifest'], ['plugin', 'inspect', 'no-manifest']]) {
      const result = await cli(...argv);
      expect(result.code, argv.join(' ')).toBe(1);
      expect(result.stderr, argv.join(' ')).toContain(`${join(work, 'no-manifest', 'forgeone.plugin.json')} is missing`);
    }
    expect((await cli('plugin', 'inspect', 'nowhere')).stderr).toContain('does not exist; give a plugin folder or a .wasm file');
    const notWasm = await cli('plugin', 'inspect', 'greeter/Cargo.toml');
    expect(notWasm.code).toBe(1);
    expect(notWasm.stdout).toContain('ABI check: FAILED (REGISTRY.WASM_INVALID)');

    const noEnv = await cli('plugin', 'test', 'acme/greeter@0.1.0');
    expect(noEnv).toMatchObject({ code: 2, stdout: '' });
    expect(noEnv.stderr).toContain('a run on the platform needs the version and the environment it is installed in');
    const fixtures = await cli('plugin', 'test', 'acme/greeter@0.1.0', '--env', 'staging', '--http-fixtures', 'f.json');
    expect(fixtures).toMatchObject({ code: 2, stdout: '' });
    expect(fixtures.stderr).toContain('--http-fixtures is for --local runs');

    cpSync(join(work, 'greeter'), join(work, 'unbuilt'), { recursive: true, filter: (p) => !p.includes('target') && !p.endsWith('plugin.wasm') });
    expect((await cli('plugin', 'test', '--local', 'unbuilt')).stderr).toContain('run forgeone plugin build unbuilt first');
  });

  it('plugin new + build - an AssemblyScript folder builds and passes its tests; http is answered from fixtures only', async () => {
    expect((await cli('plugin', 'new', 'acme/greeter-as', '--lang', 'assemblyscript')).code).toBe(0);
    expect((await cli('plugin', 'build', 'greeter-as')).code).toBe(0);
    expect(await cli('plugin', 'test', '--local', 'greeter-as')).toMatchObject({ code: 0, stdout: expect.stringContaining('all 2 test vector(s) passed') });

    cpSync(join(repo, 'examples', 'plugins', 'fetcher'), join(work, 'fetcher'), { recursive: true });
    writeManifest('fetcher', {
      ...manifestOf('fetcher'),
      tests: [
        { handler: 'fetch', input: 'https://api.example.com/v1/items', expect: '{"status":200,"bodyBytes":5}' },
        { handler: 'fetch', input: 'https://api.example.com/v1/other', expect: '{"status":200,"bodyBytes":0}' },
      ],
    });
    writeFileSync(join(work, 'fixtures.json'), JSON.stringify({ http: [{ url: 'https://api.example.com/v1/items', body: 'hello' }] }));
    const result = await cli('plugin', 'test', '--local', 'fetcher', '--http-fixtures', 'fixtures.json');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/1\s+fetch\s+pass/);
    expect(result.stdout).toMatch(/2\s+fetch\s+FAIL/);
    expect(result.stdout).toContain('http: GET https://api.example.com/v1/other: no fixture answers this request');

    writeFileSync(join(work, 'bad-fixtures.json'), JSON.stringify({ http: [{ url: 'not a url' }] }));
    const bad = await cli('plugin', 'test', '--local', 'fetcher', '--http-fixtures', 'bad-fixtures.json');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not an http fixtures file');
    expect(bad.stderr).toContain('http[0].url: Invalid URL');
  }, 60_000);
});
