// The example plugins under examples/plugins: committed binaries match a rebuild from source, pass
// the registry's ABI v1 checks, and do what their manifests say in the sandbox (real worker threads).
// The Rust examples need Debian's toolchain (rustc, libstd-rust-dev-wasm32, cargo; .ci/run installs it).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ForgeOneError, PluginManifestSchema, type PluginManifest } from '@forgeone/contracts';
import { validatePluginModule } from '@forgeone/plugin-abi';
import { SandboxHost, type HostCallContext, type HostHooks, type SandboxCallResult } from '@forgeone/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES module shared with examples/plugins/build.mjs, no type declarations
import { buildExample, examplesDir, listExamples } from '../../examples/plugins/plugin-builder.mjs';

// The engine's WebAssembly API, typed here because the project compiles without DOM typings.
const engine = (globalThis as unknown as {
  WebAssembly: {
    Module: { new (bytes: Uint8Array): object; imports(module: object): { module: string; name: string; kind: string }[] };
    Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  };
}).WebAssembly;

interface Example {
  readonly name: string;
  readonly dir: string;
  readonly kind: 'wat' | 'assemblyscript' | 'rust';
}

const examples = (listExamples as () => Example[])();
const build = buildExample as (dir: string) => Promise<Uint8Array>;
const manifestOf = (name: string): PluginManifest =>
  PluginManifestSchema.parse(JSON.parse(readFileSync(join(examplesDir as string, name, 'forgeone.plugin.json'), 'utf8')));
const wasmOf = (name: string): Uint8Array => new Uint8Array(readFileSync(join(examplesDir as string, name, 'plugin.wasm')));
const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value);
const text = (value: Uint8Array): string => new TextDecoder().decode(value);

function output(result: SandboxCallResult): string {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return text(result.output);
}

/**
 * Storage in a Map and HTTP over the network with the runner's JSON shapes; an allow-list entry must
 * name the host and port exactly (as apps/sandbox-runner requires for a non-default port).
 */
class ExampleHooks implements HostHooks {
  readonly store = new Map<string, Uint8Array>();
  readonly requests: unknown[] = [];

  async kvGet(ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    return this.store.get(`${ctx.plugin}/${key}`);
  }

  async kvSet(ctx: HostCallContext, key: string, value: Uint8Array): Promise<void> {
    this.store.set(`${ctx.plugin}/${key}`, value);
  }

  async kvDelete(ctx: HostCallContext, key: string): Promise<boolean> {
    return this.store.delete(`${ctx.plugin}/${key}`);
  }

  async httpRequest(ctx: HostCallContext, request: unknown): Promise<unknown> {
    this.requests.push(request);
    const { method, url, headers, body } = request as { method: string; url: string; headers?: Record<string, string>; body?: string };
    const target = new URL(url);
    const allow = ctx.capabilities.http?.allow ?? [];
    if (!allow.includes(target.host)) {
      throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', `${target.host} is not in the plugin's http allow-list`);
    }
    const response = await fetch(target, { method, headers, body });
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = bytes.toString('utf8');
    const isText = Buffer.from(text, 'utf8').equals(bytes);
    return { status: response.status, headers: Object.fromEntries(response.headers), ...(isText ? { body: text } : { bodyBase64: bytes.toString('base64') }) };
  }
}

describe('example plugins - build', () => {
  it('lists the hand-written, AssemblyScript and Rust examples', () => {
    expect(examples.map((e) => `${e.name}:${e.kind}`)).toEqual([
      'counter:assemblyscript',
      'fetcher:assemblyscript',
      'greeter-config:assemblyscript',
      'hello:wat',
      'hello-1.1.0:wat',
      'pii-redactor:assemblyscript',
      'pii-redactor-rs:rust',
      'webhook-relay-rs:rust',
    ]);
  });

  it('pii-redactor and pii-redactor-rs are held to the same manifest test vectors', () => {
    const vectors = manifestOf('pii-redactor').tests;
    expect(vectors.length).toBeGreaterThan(3);
    expect(manifestOf('pii-redactor-rs').tests).toEqual(vectors);
    expect(manifestOf('pii-redactor-rs').handlers).toEqual(manifestOf('pii-redactor').handlers);
  });

  it.each(examples.map((e) => [e.name, e] as const))('%s: a rebuild from source gives the committed plugin.wasm byte for byte', async (name, example) => {
    const rebuilt = await build(example.dir);
    expect(Buffer.from(rebuilt).equals(Buffer.from(wasmOf(name)))).toBe(true);
  }, 180_000);

  it.each(examples.map((e) => [e.name] as const))('%s: passes the registry ABI v1 checks and imports only what its capabilities grant', (name) => {
    const manifest = manifestOf(name);
    const report = validatePluginModule(wasmOf(name), { handlers: manifest.handlers, abi: manifest.abi });
    const granted = Object.keys(manifest.capabilities);
    expect(report.requiredCapabilities.filter((c) => !granted.includes(c))).toEqual([]);
    const kind = examples.find((e) => e.name === name)!.kind;
    // rustc declares no maximum; the sandbox caps memory at limits.memoryMiB either way.
    expect(report.memory.maximumPages).toBe(kind === 'rust' ? undefined : manifest.limits.memoryMiB * 16);
    // AssemblyScript's start function only sets the heap offset; it runs, metered, on every instance.
    expect(report.hasStartFunction).toBe(kind === 'assemblyscript');
  });

  it('compiled examples import only forgeone.* functions (no env.abort, env.seed or env.trace, no WASI)', () => {
    for (const example of examples.filter((e) => e.kind !== 'wat')) {
      const imports = engine.Module.imports(new engine.Module(wasmOf(example.name)));
      expect(imports.filter((i) => i.module !== 'forgeone' || i.kind !== 'function')).toEqual([]);
    }
  });

  it('each AssemblyScript example imports exactly the host functions of its capabilities', () => {
    const imported = (name: string): string[] =>
      engine.Module.imports(new engine.Module(wasmOf(name)))
        .map((i) => i.name)
        .sort();
    expect(imported('pii-redactor')).toEqual(['error', 'log', 'metric']);
    expect(imported('counter')).toEqual(['error', 'kv_get', 'kv_set']);
    expect(imported('fetcher')).toEqual(['error', 'http_request']);
    expect(imported('greeter-config')).toEqual(['config_get', 'error']);
    expect(imported('pii-redactor-rs')).toEqual(['error', 'log', 'metric']);
    expect(imported('webhook-relay-rs')).toEqual(['config_get', 'error', 'http_request', 'kv_get', 'kv_set', 'log', 'metric', 'now_ms']);
  });
});

describe('AssemblyScript SDK - forgeone_alloc', () => {
  it('returns 0 when memory cannot grow to the size, and usable blocks otherwise', () => {
    const noop = (): void => undefined;
    const imports = { forgeone: { error: noop, kv_get: () => -1n, kv_set: () => 0 } };
    const exports = new engine.Instance(new engine.Module(wasmOf('counter')), imports).exports as unknown as {
      memory: { buffer: ArrayBuffer };
      forgeone_alloc(size: number): number;
    };
    const a = exports.forgeone_alloc(100);
    const b = exports.forgeone_alloc(200_000); // grows memory (declared maximum: 16 pages)
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThanOrEqual(a + 100);
    expect(b + 200_000).toBeLessThanOrEqual(exports.memory.buffer.byteLength);
    expect(exports.forgeone_alloc(2 * 1024 * 1024)).toBe(0); // beyond 16 pages: refused, not a trap
    expect(exports.forgeone_alloc(-1)).toBe(0);
    expect(exports.forgeone_alloc(16)).toBeGreaterThan(b); // still usable after a refusal
  });
});

describe('example plugins - in the sandbox', () => {
  const hooks = new ExampleHooks();
  const host = new SandboxHost({ hooks, caps: { memoryMiB: 16, timeoutMs: 5000 } });
  let server: Server;
  let origin: string;
  const served: string[] = [];

  async function load(name: string, capabilities?: PluginManifest['capabilities']): Promise<string> {
    const manifest = manifestOf(name);
    const key = `${manifest.name}@${manifest.version}`;
    await host.load({ key, wasm: wasmOf(name), handlers: manifest.handlers, capabilities: capabilities ?? manifest.capabilities, limits: manifest.limits });
    return key;
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      served.push(`${req.method} ${req.url}`);
      if (req.url === '/binary') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x01]));
        return;
      }
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing');
        return;
      }
      // 3 bytes per "é€": 2 + 3 bytes in UTF-8, so bodyBytes counts bytes, not characters.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('hello from the test server é€');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await host.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each(['pii-redactor', 'pii-redactor-rs'])('%s: every manifest test passes, with logs and metrics', async (name) => {
    const manifest = manifestOf(name);
    const key = await load(name);
    expect(manifest.tests.length).toBeGreaterThan(3);
    for (const test of manifest.tests) {
      expect(output(await host.call(key, test.handler, utf8(test.input))), test.input).toBe(test.expect);
    }
    const result = await host.call(key, 'redact', utf8('bob@x.io paid with 4111-1111-1111-1111'));
    expect(output(result)).toBe('*** paid with **** **** **** 1111');
    expect(result.logs).toEqual([{ level: 1, message: 'masked 1 e-mail address(es) and 1 card number(s)' }]);
    expect(result.metrics).toEqual([
      { name: 'pii.emails_masked', value: 1 },
      { name: 'pii.cards_masked', value: 1 },
    ]);
  });

  it.each(['pii-redactor', 'pii-redactor-rs'])('%s: multi-byte text survives the UTF-8 round trip', async (name) => {
    const key = await load(name);
    expect(output(await host.call(key, 'redact', utf8('Grüße an zoë@example.de — 日本, Karte 4111 1111 1111 1111')))).toBe('Grüße an *** — 日本, Karte **** **** **** 1111');
  });

  it('greeter-config: greets with the configured greeting and compares the secret without echoing it', async () => {
    const key = await load('greeter-config');
    const config = { greeting: 'Bonjour', api_token: 's3cr3t' };
    expect(output(await host.call(key, 'greet', utf8('ada'), { config }))).toBe('Bonjour, ada');
    expect(output(await host.call(key, 'token_matches', utf8('s3cr3t'), { config }))).toBe('match');
    expect(output(await host.call(key, 'token_matches', utf8('guess'), { config }))).toBe('no match');
    expect(output(await host.call(key, 'token_matches', utf8('s3cr3t'), { config: {} }))).toBe('unset');
    expect(await host.call(key, 'greet', utf8('ada'), { config: {} })).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: expect.stringContaining('greeting is not configured') } });
  });

  it('counter: counts 1, 2, 3 per name in storage across fresh instances', async () => {
    const key = await load('counter');
    const counts: string[] = [];
    for (let i = 0; i < 3; i++) counts.push(output(await host.call(key, 'increment', utf8('visits'))));
    expect(counts).toEqual(['1', '2', '3']);
    expect(output(await host.call(key, 'increment', utf8('other')))).toBe('1');
    expect(text(hooks.store.get(`${key}/count:visits`)!)).toBe('3');
  });

  it('counter: an empty name is a guest error with the message the plugin set', async () => {
    const key = await load('counter');
    expect(await host.call(key, 'increment', utf8(''))).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX.GUEST_ERROR', message: 'increment needs a counter name as input' },
    });
  });

  // The manifest allows example.com; the environment grants the test server instead.
  const loadFetcher = (): Promise<string> => load('fetcher', { http: { allow: [new URL(origin).host] } });

  it('fetcher: GETs the local server and returns its status and body length in bytes', async () => {
    const key = await loadFetcher();
    expect(JSON.parse(output(await host.call(key, 'fetch', utf8(`${origin}/hello`))))).toEqual({ status: 200, bodyBytes: Buffer.byteLength('hello from the test server é€') });
    expect(JSON.parse(output(await host.call(key, 'fetch', utf8(`${origin}/missing`))))).toEqual({ status: 404, bodyBytes: 13 });
    expect(JSON.parse(output(await host.call(key, 'fetch', utf8(`${origin}/binary`))))).toEqual({ status: 200, bodyBytes: 5 });
    expect(served).toEqual(['GET /hello', 'GET /missing', 'GET /binary']);
    expect(hooks.requests.at(-1)).toEqual({ method: 'GET', url: `${origin}/binary`, headers: { accept: '*/*' } });
  });

  it('fetcher: an answer that is not the response JSON aborts the plugin without env.abort: a guest error with the abort message', async () => {
    const odd = new SandboxHost({ hooks: { httpRequest: async () => 'not an object' }, prewarm: false });
    const manifest = manifestOf('fetcher');
    await odd.load({ key: 'odd', wasm: wasmOf('fetcher'), handlers: manifest.handlers, capabilities: { http: { allow: [new URL(origin).host] } }, limits: manifest.limits });
    expect(await odd.call('odd', 'fetch', utf8(`${origin}/hello`))).toMatchObject({
      ok: false,
      error: { code: 'SANDBOX.GUEST_ERROR', message: expect.stringContaining("http_request answer is not the expected JSON: expected '{' at offset 0"), details: { trap: 'unreachable', aborted: true } },
    });
    await odd.close();
  });

  it('fetcher: a host outside the allow-list is refused by the host, and the plugin says why', async () => {
    const key = await loadFetcher();
    const before = served.length;
    const result = await host.call(key, 'fetch', utf8('http://localhost:1/'));
    expect(result).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'the host refused http://localhost:1/: its host is not in the plugin\'s http allow-list' } });
    expect(served.length).toBe(before);
  });

  describe('webhook-relay-rs', () => {
    const delivered: { url: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    let hooksServer: Server;
    let hooksOrigin: string;
    const T0 = Date.UTC(2026, 0, 1, 12, 0, 10); // 10 s into a minute

    beforeAll(async () => {
      hooksServer = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          delivered.push({ url: req.url ?? '', headers: req.headers, body });
          res.writeHead(req.url === '/broken' ? 500 : 202).end();
        });
      });
      await new Promise<void>((resolve) => hooksServer.listen(0, '127.0.0.1', resolve));
      hooksOrigin = `http://127.0.0.1:${(hooksServer.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => hooksServer.close(() => resolve())));

    // The manifest allows hooks.example.com; the environment grants the test server instead, and sets per_minute.
    async function loadRelay(perMinute: string): Promise<string> {
      const manifest = manifestOf('webhook-relay-rs');
      const key = `${manifest.name}@${manifest.version}+${perMinute}`;
      await host.load({ key, wasm: wasmOf('webhook-relay-rs'), handlers: manifest.handlers, capabilities: { ...manifest.capabilities, http: { allow: [new URL(hooksOrigin).host] } }, limits: manifest.limits, config: { per_minute: perMinute } });
      return key;
    }
    const relay = (key: string, to: string, event: unknown, nowMs: number) => host.call(key, 'relay', utf8(JSON.stringify({ to, event })), { nowMs });

    it('delivers the event as compact JSON, counts per host and minute in storage, and refuses over the limit until the next minute', async () => {
      const key = await loadRelay('3');
      // Written by hand: the plugin passes numbers on as written, JSON.stringify would round this one.
      const event = ' { "type": "deploy", "id": 12345678901234567890, "tags": ["a", "é"] } ';
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const input = `{"to": "${hooksOrigin}/in/${i}", "event": ${event}}`;
        answers.push(JSON.parse(output(await host.call(key, 'relay', utf8(input), { nowMs: T0 + i * 1000 }))));
      }
      expect(answers).toEqual([{ status: 202, remaining: 2 }, { status: 202, remaining: 1 }, { status: 202, remaining: 0 }]);
      expect(delivered.map((d) => d.url)).toEqual(['/in/0', '/in/1', '/in/2']);
      expect(delivered[0].body).toBe('{"type":"deploy","id":12345678901234567890,"tags":["a","é"]}');
      expect(delivered[0].headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'forgeone-webhook-relay-rs/1.0' });

      const refused = await relay(key, `${hooksOrigin}/in/3`, event, T0 + 5000);
      expect(refused).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: `rate limit reached for ${new URL(hooksOrigin).host}: 3 deliveries per minute; the next window opens in 45 s` } });
      expect(refused.metrics).toEqual([{ name: 'relay.throttled', value: 1 }]);
      expect(delivered).toHaveLength(3);

      const nextMinute = await relay(key, `${hooksOrigin}/in/4`, { n: 1 }, T0 + 60_000);
      expect(JSON.parse(output(nextMinute))).toEqual({ status: 202, remaining: 2 });
      expect(nextMinute.logs).toEqual([{ level: 1, message: `relayed 7 bytes to ${new URL(hooksOrigin).host}: HTTP 202` }]);
      expect(text(hooks.store.get(`${key}/deliveries:${new URL(hooksOrigin).host}`)!)).toBe(`${T0 + 60_000 - 10_000} 1`);
    });

    it('reports a webhook that fails, a webhook outside the allow-list, bad input and a bad per_minute as guest errors', async () => {
      const key = await loadRelay('10');
      const host127 = new URL(hooksOrigin).host;
      expect(await relay(key, `${hooksOrigin}/broken`, {}, T0)).toMatchObject({ ok: false, error: { message: `the webhook at ${host127} answered HTTP 500` } });
      expect(await relay(key, 'http://127.0.0.1:1/in', {}, T0)).toMatchObject({ ok: false, error: { message: "the host refused 127.0.0.1:1: it is not in the plugin's http allow-list" } });
      expect(await relay(key, 'ftp://hooks.example.com/x', {}, T0)).toMatchObject({ ok: false, error: { message: '"to" must be an http:// or https:// URL without user info, got "ftp://hooks.example.com/x"' } });
      expect(await host.call(key, 'relay', utf8('{"to": "http://x"'), { nowMs: T0 })).toMatchObject({
        ok: false,
        error: { code: 'SANDBOX.GUEST_ERROR', message: 'relay needs {"to": <webhook URL>, "event": <JSON>}: invalid JSON at byte 17: expected \',\' or \'}\' in an object' },
      });
      expect(await host.call(key, 'relay', utf8('{"to": "http://x"}'), { nowMs: T0 })).toMatchObject({ ok: false, error: { message: 'relay needs "event": the JSON to deliver' } });
      const badConfig = await loadRelay('lots');
      expect(await relay(badConfig, `${hooksOrigin}/in`, {}, T0)).toMatchObject({ ok: false, error: { message: 'config per_minute must be a whole number from 1 to 10000, got "lots"' } });
    });
  });
});
