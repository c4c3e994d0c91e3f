import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';
import { startGatewayPeer, type GatewayPeer } from '../../test/gateway-peer.js';

const TOKEN = 'fo_00000000000000aa_devsecretdevsecretdevsecretdevsecretdevs';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const CALL_PATH = '/v1/environments/staging/plugins/forgeone/hello/calls/greet';

let peer: GatewayPeer;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'forgeone-call-'));
  peer = await startGatewayPeer((request) => {
    const body = request.body as { input?: string; inputBase64?: string } | undefined;
    const reply = { plugin: 'forgeone/hello', handler: 'greet', environment: 'staging', version: '1.0.0', digest: DIGEST, durationMs: 2, fuelUsed: 120 };
    if (request.method !== 'POST') return { status: 404, body: { error: { code: 'HTTP.NOT_FOUND', message: 'no route' } } };
    if (request.url.startsWith('/v1/environments/production/')) {
      return { status: 404, body: { error: { code: 'SANDBOX.NOT_FOUND', message: 'plugin forgeone/hello is not installed in production; install it first' } } };
    }
    if (request.url !== CALL_PATH) return { status: 404, body: { error: { code: 'HTTP.NOT_FOUND', message: `no route ${request.url}` } } };
    if (body?.input === '') return { status: 422, body: { error: { code: 'SANDBOX.GUEST_ERROR', message: 'greet needs a name: the input was empty' } } };
    if (body?.inputBase64 !== undefined) return { status: 200, body: { ...reply, outputBase64: body.inputBase64 } };
    return { status: 200, body: { ...reply, output: `hello, ${body?.input}` } };
  });
});

afterAll(async () => {
  await peer.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  peer.received.length = 0;
});

const env = () => ({ FORGEONE_API: peer.url, FORGEONE_TOKEN: TOKEN });

describe('forgeone plugin call', () => {
  it('call - sends the input as text with the token and prints the output, newline-terminated', async () => {
    const result = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'world'], env());
    expect(result).toEqual({ code: 0, stdout: 'hello, world\n', stderr: '' });
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0]).toMatchObject({ method: 'POST', url: CALL_PATH, body: { input: 'world' } });
    expect(peer.received[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('call - with --json prints the whole reply', async () => {
    const result = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'world', '--json'], env());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      plugin: 'forgeone/hello',
      handler: 'greet',
      environment: 'staging',
      version: '1.0.0',
      digest: DIGEST,
      output: 'hello, world',
      durationMs: 2,
      fuelUsed: 120,
    });
  });

  it('call - @file sends a UTF-8 file as text and any other file as base64; @@ escapes a leading "@"', async () => {
    writeFileSync(join(work, 'name.txt'), 'wörld');
    writeFileSync(join(work, 'bytes.bin'), Buffer.from([0xff, 0x00, 0xfe]));
    const text = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', '@name.txt'], env(), work);
    expect(text).toEqual({ code: 0, stdout: 'hello, wörld\n', stderr: '' });
    expect(peer.received[0].body).toEqual({ input: 'wörld' });

    const bytes = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', `@${join(work, 'bytes.bin')}`], env());
    expect(bytes.code).toBe(0);
    expect(peer.received[1].body).toEqual({ inputBase64: '/wD+' });
    expect(bytes.stdout).toBe('/wD+\n');
    expect(bytes.stderr).toBe('the output is not UTF-8 text; printed as base64\n');

    const literal = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', '@@home'], env());
    expect(literal.stdout).toBe('hello, @home\n');
  });

  it('call - a missing input file is exit 1 naming it, and nothing is sent', async () => {
    const result = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', '@missing.txt'], env(), work);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: ${join(work, 'missing.txt')} does not exist; --input @<file> sends a file's contents (use @@<text> for text starting with "@") (COMMAND.INVALID)\n`);
    expect(peer.received).toHaveLength(0);
  });

  it('call - a refusal of the API is exit 1 with its message and code; with --json the error object', async () => {
    const empty = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', ''], env());
    expect(empty).toEqual({ code: 1, stdout: '', stderr: 'error: greet needs a name: the input was empty (SANDBOX.GUEST_ERROR)\n' });
    const absent = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'production', '--input', 'x', '--json'], env());
    expect(absent.code).toBe(1);
    expect(JSON.parse(absent.stderr)).toEqual({ error: { code: 'SANDBOX.NOT_FOUND', message: 'plugin forgeone/hello is not installed in production; install it first' } });
  });

  it('call - without --input sends an empty input', async () => {
    const result = await runCli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging'], env());
    expect(result.code).toBe(1);
    expect(peer.received[0].body).toEqual({ input: '' });
  });

  it('call - bad arguments are usage errors with exit 2, and nothing is sent', async () => {
    const cases = [
      [['plugin', 'call', 'forgeone/hello', 'greet', '--input', 'x'], /required option '--env <env>' not specified/],
      [['plugin', 'call', 'forgeone/hello', '--env', 'staging'], /missing required argument 'handler'/],
      [['plugin', 'call', 'forgeone/hello@1.0.0', 'greet', '--env', 'staging'], /without a version/],
      [['plugin', 'call', 'forgeone/hello', 'greet-me', '--env', 'staging'], /"greet-me" is not a handler name/],
      [['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'Staging'], /is not an environment name/],
      [['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', '@'], /names no file/],
    ] as const;
    for (const [argv, message] of cases) {
      const result = await runCli(argv, env());
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(peer.received).toHaveLength(0);
  });
});
