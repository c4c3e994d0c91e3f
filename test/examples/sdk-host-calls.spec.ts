// The AssemblyScript SDK's wrappers against the real sandbox: a test plugin (test/examples/sdk-tour)
// built from source calls every host function; the hooks answer like apps/sandbox-runner's.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ForgeOneError } from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { SandboxHost, type HostCallContext, type HostHooks, type SandboxCallResult } from '@forgeone/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES module shared with examples/plugins/build.mjs, no type declarations
import { buildExample } from '../../examples/plugins/plugin-builder.mjs';

const KEY = 'forgeone/sdk-tour@1.0.0';
const HANDLERS = ['config', 'clock', 'storage', 'auth', 'post', 'bytes'];
const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value);

function output(result: SandboxCallResult): string {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return new TextDecoder().decode(result.output);
}

class TourHooks implements HostHooks {
  readonly store = new Map<string, Uint8Array>();
  readonly authRequests: unknown[] = [];
  readonly httpRequests: unknown[] = [];

  async kvGet(_ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    return this.store.get(key);
  }
  async kvSet(_ctx: HostCallContext, key: string, value: Uint8Array): Promise<void> {
    this.store.set(key, value);
  }
  async kvDelete(_ctx: HostCallContext, key: string): Promise<boolean> {
    return this.store.delete(key);
  }
  async authCheck(_ctx: HostCallContext, request: unknown): Promise<boolean> {
    this.authRequests.push(request);
    const action = (request as { action: string }).action;
    if (action === 'review') throw new ForgeOneError('AUTHZ.DENIED', 'not for plugins');
    return action === 'invoke';
  }
  async httpRequest(ctx: HostCallContext, request: unknown): Promise<unknown> {
    this.httpRequests.push(request);
    const { method, url, headers, body } = request as { method: string; url: string; headers: Record<string, string>; body?: string };
    if (!(ctx.capabilities.http?.allow ?? []).includes(new URL(url).host)) throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', 'not allowed');
    const response = await fetch(url, { method, headers, body });
    return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
  }
}

describe('AssemblyScript SDK - host function wrappers in the sandbox', () => {
  const hooks = new TourHooks();
  const host = new SandboxHost({ hooks });
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => res.writeHead(201, { 'x-echo': String(req.headers['x-note']) }).end(`${req.method} ${body}`));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const wasm = await (buildExample as (dir: string) => Promise<Uint8Array>)(new URL('./sdk-tour', import.meta.url).pathname);
    expect(validatePluginModule(wasm, { handlers: HANDLERS, abi: 1 }).requiredCapabilities).toEqual(['log', 'metrics', 'clock', 'config', 'storage', 'http', 'auth']);
    await host.load({
      key: KEY,
      wasm,
      handlers: HANDLERS,
      capabilities: { log: true, metrics: true, clock: true, config: true, storage: true, auth: true, http: { allow: [new URL(origin).host] } },
      limits: { memoryMiB: 1, fuel: 10_000_000, timeoutMs: 2000, maxOutputBytes: 4096 },
      config: { region: 'eu-west-1 ☃' },
    });
  }, 60_000);

  afterAll(async () => {
    await host.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('configGet answers set values (UTF-8) and null with status -1 for unset keys', async () => {
    expect(output(await host.call(KEY, 'config', utf8('region')))).toBe('eu-west-1 ☃');
    expect(output(await host.call(KEY, 'config', utf8('nope')))).toBe('<unset -1>');
  });

  it('nowMs answers the time fixed for the call', async () => {
    expect(output(await host.call(KEY, 'clock', utf8(''), { nowMs: 1_700_000_000_123 }))).toBe('1700000000123');
  });

  it('kvSet, kvGet and kvDelete round-trip through the async hooks; log and metric come back with the result', async () => {
    const result = await host.call(KEY, 'storage', utf8('héllo'));
    expect(output(result)).toBe('6,0,-1,-1');
    expect(hooks.store.has('k')).toBe(false);
    expect(result.logs).toEqual([{ level: 0, message: 'storage done' }]);
    expect(result.metrics).toEqual([{ name: 'tour.bytes', value: 6 }]);
  });

  it('authCheck sends the runner\'s request shape and answers 1, 0 or -2', async () => {
    expect(output(await host.call(KEY, 'auth', utf8('invoke')))).toBe('1,1');
    expect(output(await host.call(KEY, 'auth', utf8('install')))).toBe('0,0');
    expect(output(await host.call(KEY, 'auth', utf8('review')))).toBe('-2,-2');
    expect(hooks.authRequests.slice(0, 2)).toEqual([{ action: 'invoke' }, { action: 'invoke', resource: { type: 'Environment', id: 'staging' } }]);
  });

  it('httpRequest sends escaped JSON (headers, body) and parses status, headers and body', async () => {
    const url = `${origin}/echo`;
    expect(output(await host.call(KEY, 'post', utf8(url)))).toBe('201|quote " backslash \\ tab \t é|POST line1\nline2 ☃ "q"');
    expect(hooks.httpRequests.at(-1)).toEqual({ method: 'POST', url, headers: { 'x-note': 'quote " backslash \\ tab \t é' }, body: 'line1\nline2 ☃ "q"' });
    expect(await host.call(KEY, 'post', utf8('http://127.0.0.1:1/'))).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'http_request failed: -2' } });
  });

  it('handleBytes passes binary input and output unchanged in length', async () => {
    const result = await host.call(KEY, 'bytes', new Uint8Array([0, 255, 1, 128]));
    if (!result.ok) throw result.error;
    expect([...result.output]).toEqual([128, 1, 255, 0]);
  });
});
