// The Rust SDK (sdk/rust) against the real sandbox: a test plugin (test/examples/sdk-tour-rs) built
// from source with Debian's toolchain calls every host function through the SDK's wrappers, maps
// every host status to its typed error, and panics; the hooks answer like apps/sandbox-runner's.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ForgeOneError } from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { SandboxHost, type HostCallContext, type HostHooks, type SandboxCallResult } from '@forgeone/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES module shared with examples/plugins/build.mjs, no type declarations
import { buildExample } from '../../examples/plugins/plugin-builder.mjs';

const KEY = 'forgeone/sdk-tour-rs@1.0.0';
const HANDLERS = ['config', 'clock', 'storage', 'storage_errors', 'statuses', 'auth', 'post', 'binary', 'bytes', 'json', 'fail', 'explode', 'hoard'];
const LIMITS = { memoryMiB: 2, fuel: 10_000_000, timeoutMs: 5000, maxOutputBytes: 65536 };
const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value);

function output(result: SandboxCallResult): string {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return new TextDecoder().decode(result.output);
}

/** Storage in a Map, policy by action name, HTTP over the network in the runner's JSON shapes. */
class TourHooks implements HostHooks {
  readonly store = new Map<string, Uint8Array>();
  readonly authRequests: unknown[] = [];
  readonly httpRequests: unknown[] = [];

  private refuse(key: string): void {
    if (key === 'denied') throw new ForgeOneError('AUTHZ.DENIED', 'storage is not for this plugin');
    if (key === 'broken') throw new Error('storage is down');
  }
  async kvGet(_ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    this.refuse(key);
    if (key === 'huge') return new Uint8Array(3 * 1024 * 1024);
    return this.store.get(key);
  }
  async kvSet(_ctx: HostCallContext, key: string, value: Uint8Array): Promise<void> {
    this.refuse(key);
    this.store.set(key, value);
  }
  async kvDelete(_ctx: HostCallContext, key: string): Promise<boolean> {
    this.refuse(key);
    return this.store.delete(key);
  }
  async authCheck(_ctx: HostCallContext, request: unknown): Promise<boolean> {
    this.authRequests.push(request);
    const action = (request as { action: string }).action;
    if (action === 'review') throw new ForgeOneError('AUTHZ.DENIED', 'not for plugins');
    if (action === 'outage') throw new Error('the policy service is down');
    return action === 'invoke';
  }
  async httpRequest(ctx: HostCallContext, request: unknown): Promise<unknown> {
    this.httpRequests.push(request);
    const { method, url, headers, body, bodyBase64 } = request as { method: string; url: string; headers: Record<string, string>; body?: string; bodyBase64?: string };
    if (!(ctx.capabilities.http?.allow ?? []).includes(new URL(url).host)) throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', 'not allowed');
    const response = await fetch(url, { method, headers, body: bodyBase64 !== undefined ? Buffer.from(bodyBase64, 'base64') : body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const isText = Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
    return { status: response.status, headers: Object.fromEntries(response.headers), ...(isText ? { body: bytes.toString('utf8') } : { bodyBase64: bytes.toString('base64') }) };
  }
}

describe('Rust SDK - host function wrappers in the sandbox', () => {
  const hooks = new TourHooks();
  // A host channel of 1 MiB: the 3 MiB value of "huge" does not fit it (-5).
  const host = new SandboxHost({ hooks, hostChannelBytes: 1024 * 1024 });
  // A channel that carries it, to a plugin whose memory cannot take it (-4).
  const roomy = new SandboxHost({ hooks, hostChannelBytes: 4 * 1024 * 1024, prewarm: false });
  let server: Server;
  let origin: string;
  let wasm: Uint8Array;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'PUT') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.concat([body, Buffer.from([0xc3])]));
        else res.writeHead(201, { 'x-echo': String(req.headers['x-note']) }).end(`${req.method} ${body.toString('utf8')}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    wasm = await (buildExample as (dir: string) => Promise<Uint8Array>)(new URL('./sdk-tour-rs', import.meta.url).pathname);
    const spec = {
      wasm,
      handlers: HANDLERS,
      capabilities: { log: true, metrics: true, clock: true, config: true, storage: true, auth: true, http: { allow: [new URL(origin).host] } },
      limits: LIMITS,
      config: { region: 'eu-west-1 ☃' },
    };
    await host.load({ key: KEY, ...spec });
    await roomy.load({ key: KEY, ...spec });
  }, 120_000);

  afterAll(async () => {
    await host.close();
    await roomy.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('rust sdk - the module passes the ABI v1 checks and imports every host function, from forgeone only', () => {
    const report = validatePluginModule(wasm, { handlers: HANDLERS, abi: 1 });
    expect(report.requiredCapabilities).toEqual(['log', 'metrics', 'clock', 'config', 'storage', 'http', 'auth']);
    expect([...report.hostImports].sort()).toEqual(['auth_check', 'config_get', 'error', 'http_request', 'kv_delete', 'kv_get', 'kv_set', 'log', 'metric', 'now_ms']);
    expect(report.hasStartFunction).toBe(false);
  });

  it('rust sdk - config::get answers set values (UTF-8) and None for unset keys; text input must be UTF-8', async () => {
    expect(output(await host.call(KEY, 'config', utf8('region')))).toBe('eu-west-1 ☃');
    expect(output(await host.call(KEY, 'config', utf8('nope')))).toBe('<unset>');
    expect(await host.call(KEY, 'config', new Uint8Array([0x72, 0xff]))).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX.GUEST_ERROR', message: 'the input is not valid UTF-8: invalid utf-8 sequence of 1 bytes from index 1', details: { result: -1 } },
    });
  });

  it('rust sdk - now_ms answers the time fixed for the call', async () => {
    expect(output(await host.call(KEY, 'clock', utf8(''), { nowMs: 1_700_000_000_123 }))).toBe('1700000000123');
  });

  it('rust sdk - kv set, get and delete round-trip through the async hooks; log and metric come back with the result', async () => {
    const result = await host.call(KEY, 'storage', utf8('héllo'));
    expect(output(result)).toBe('6,true,false,None');
    expect(hooks.store.has('k')).toBe(false);
    expect(result.logs).toEqual([{ level: 0, message: 'storage done' }]);
    expect(result.metrics).toEqual([{ name: 'tour.bytes', value: 6 }]);
  });

  it('rust sdk - storage statuses the host answers arrive as typed errors', async () => {
    expect(output(await host.call(KEY, 'storage_errors', utf8('denied')))).toBe('get=Err(Denied);set=Err(Denied);delete=Err(Denied)');
    expect(output(await host.call(KEY, 'storage_errors', utf8('broken')))).toBe('get=Err(Failed);set=Err(Failed);delete=Err(Failed)');
    expect(output(await host.call(KEY, 'storage_errors', utf8('huge')))).toBe('get=Err(ValueTooLarge);set=Ok(());delete=Ok(true)');
    expect(output(await roomy.call(KEY, 'storage_errors', utf8('huge')))).toBe('get=Err(GuestOutOfMemory);set=Ok(());delete=Ok(true)');
  });

  it('rust sdk - every status maps to one typed error per wrapper and back; -5 and -6 are the kv ValueTooLarge and QuotaExceeded', async () => {
    expect(output(await host.call(KEY, 'statuses', utf8(''))).split('\n')).toEqual([
      '-7 kv=Unexpected(-7)/-7 http=Unexpected(-7)/Some(-7) auth=Unexpected(-7)/-7 config=Unexpected(-7)/Some(-7)',
      '-6 kv=QuotaExceeded/-6 http=Unexpected(-6)/Some(-6) auth=Unexpected(-6)/-6 config=Unexpected(-6)/Some(-6)',
      '-5 kv=ValueTooLarge/-5 http=TooLarge/Some(-5) auth=Unexpected(-5)/-5 config=Unexpected(-5)/Some(-5)',
      '-4 kv=GuestOutOfMemory/-4 http=GuestOutOfMemory/Some(-4) auth=Unexpected(-4)/-4 config=GuestOutOfMemory/Some(-4)',
      '-3 kv=Failed/-3 http=Failed/Some(-3) auth=Failed/-3 config=Unexpected(-3)/Some(-3)',
      '-2 kv=Denied/-2 http=Denied/Some(-2) auth=Denied/-2 config=Unexpected(-2)/Some(-2)',
      '-1 kv=Unexpected(-1)/-1 http=Unexpected(-1)/Some(-1) auth=Unexpected(-1)/-1 config=Unexpected(-1)/Some(-1)',
      'the storage quota would be exceeded; nothing was written (status -6)',
      'the value is larger than the host can carry (status -5)',
    ]);
  });

  it("rust sdk - auth::check sends the runner's request shape and answers allowed, refused or the status", async () => {
    expect(output(await host.call(KEY, 'auth', utf8('invoke')))).toBe('1,1');
    expect(output(await host.call(KEY, 'auth', utf8('install')))).toBe('0,0');
    expect(output(await host.call(KEY, 'auth', utf8('review')))).toBe('-2,-2');
    expect(output(await host.call(KEY, 'auth', utf8('outage')))).toBe('-3,-3');
    expect(hooks.authRequests.slice(0, 2)).toEqual([{ action: 'invoke' }, { action: 'invoke', resource: { type: 'Environment', id: 'staging' } }]);
  });

  it('rust sdk - http sends escaped JSON (headers, text body) and reads status, headers and body', async () => {
    const url = `${origin}/echo`;
    expect(output(await host.call(KEY, 'post', utf8(url)))).toBe('201|quote " backslash \\ tab \t é|POST line1\nline2 ☃ "q"');
    expect(hooks.httpRequests.at(-1)).toEqual({ method: 'POST', url, headers: { 'x-note': 'quote " backslash \\ tab \t é' }, body: 'line1\nline2 ☃ "q"' });
  });

  it('rust sdk - http sends a body that is not UTF-8 as bodyBase64 and decodes a binary response', async () => {
    const result = await host.call(KEY, 'binary', utf8(`${origin}/bytes`));
    if (!result.ok) throw result.error;
    expect([...result.output]).toEqual([0, 0xff, 0xfe, 0x80, 0x7f, 0xc3]);
    expect(hooks.httpRequests.at(-1)).toMatchObject({ method: 'PUT', bodyBase64: Buffer.from([0, 0xff, 0xfe, 0x80, 0x7f]).toString('base64') });
  });

  it('rust sdk - a host outside the allow-list is HttpError::Denied, and its message reaches the caller', async () => {
    expect(await host.call(KEY, 'post', utf8('http://127.0.0.1:1/'))).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX.GUEST_ERROR', message: "the host refused the request: its host is not in the plugin's http allow-list, or policy denies http (status -2)" },
    });
  });

  it('rust sdk - bytes in and out unchanged in length; JSON parsed and written back with numbers as written', async () => {
    const reversed = await host.call(KEY, 'bytes', new Uint8Array([0, 255, 1, 128]));
    if (!reversed.ok) throw reversed.error;
    expect([...reversed.output]).toEqual([128, 1, 255, 0]);
    const doc = ' { "n": 12345678901234567890, "s": "a\\u00e9\\ud83d\\ude00\\n", "a": [true, null, -1.5e3], "n": 42 } ';
    expect(output(await host.call(KEY, 'json', utf8(doc)))).toBe('{"n":12345678901234567890,"s":"aé😀\\n","a":[true,null,-1.5e3],"n":42} Some(42)/Some(42.0)');
    expect(await host.call(KEY, 'json', utf8('{"n": 01}'))).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'invalid JSON at byte 6: invalid number' } });
    expect(await host.call(KEY, 'json', utf8('['.repeat(200)))).toMatchObject({ ok: false, error: { message: 'invalid JSON at byte 129: nested deeper than 128 levels' } });
  });

  it('rust sdk - an Err with a code is a guest error with that message and result', async () => {
    expect(await host.call(KEY, 'fail', utf8(''))).toMatchObject({ ok: false, violation: undefined, error: { code: 'SANDBOX.GUEST_ERROR', message: 'the tour fails on purpose', details: { result: -42 } } });
  });

  it('rust sdk - a panic is a guest error carrying its message and location, in a worker and inline, and the next call starts afresh', async () => {
    const panicked = await host.call(KEY, 'explode', utf8('one two three'));
    expect(panicked).toMatchObject({ ok: false, violation: undefined, error: { code: 'SANDBOX.GUEST_ERROR', details: { trap: 'unreachable', aborted: true } } });
    if (panicked.ok) return;
    expect(panicked.error.message).toMatch(/^explode panicked at src\/lib\.rs:\d+:\d+: the tour panics on purpose: 3 words$/);
    const inline = host.runInline(KEY, 'explode', utf8('one two'));
    expect(inline).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR' } });
    if (!inline.ok) expect(inline.error.message).toMatch(/^explode panicked at src\/lib\.rs:\d+:\d+: index out of bounds: the len is 2 but the index is 5$/);
    expect(output(await host.call(KEY, 'clock', utf8(''), { nowMs: 5 }))).toBe('5');
  });

  it('rust sdk - the allocator grows memory on demand and returns null at the memory limit, which ends the call with SANDBOX.MEMORY_LIMIT', async () => {
    expect(output(await host.call(KEY, 'hoard', utf8('400')))).toBe(String(7 * 400 * 1024));
    expect(await host.call(KEY, 'hoard', utf8('4096'))).toMatchObject({ ok: false, violation: 'memory', error: { code: 'SANDBOX.MEMORY_LIMIT' } });
    expect(output(await host.call(KEY, 'hoard', utf8('1')))).toBe(String(7 * 1024));
  });
});
