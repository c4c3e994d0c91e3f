import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { ForgeOneError } from '@forgeone/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginHttpRequest, type PluginHttpOptions } from './plugin-http.client.js';

// A resolver that answers every name with the given addresses, as an attacker's DNS server would
// (DNS rebinding); the connection itself is real.
function resolvingTo(...addresses: string[]): PluginHttpOptions['lookup'] {
  const answer: LookupAddress[] = addresses.map((address) => ({ address, family: isIP(address) }));
  return ((_hostname: string, _options: unknown, callback: (error: Error | null, addresses: LookupAddress[]) => void) => {
    setImmediate(() => callback(null, answer));
  }) as unknown as PluginHttpOptions['lookup'];
}

async function refusal(promise: Promise<unknown>): Promise<ForgeOneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the request was expected to be refused').toBeDefined();
  return error as ForgeOneError;
}

describe('plugin http - refused addresses at call time', () => {
  let server: Server;
  let port = 0;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(`${req.method} ${req.url}`);
      if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('internal');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (url: string, options: PluginHttpOptions) => pluginHttpRequest({ url }, { timeoutMs: 2_000, ...options });

  it('an IP literal in a refused range is refused, though the allow-list names it, unless the version was allowed it at publish', async () => {
    const entry = `127.0.0.1:${port}`;
    const before = received.length;
    const error = await refusal(get(`http://${entry}/secret`, { allow: [entry] }));
    expect(error).toMatchObject({ code: 'SANDBOX.CAPABILITY_DENIED', details: { range: '127.0.0.0/8', hook: 'http' } });
    expect(error.message).toMatch(/^127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback \(this machine\)\), which plugins may not reach/);
    expect(received.length).toBe(before);

    expect(await get(`http://${entry}/secret`, { allow: [entry], privateEgress: [entry] })).toMatchObject({ status: 200, body: 'internal' });
    expect(received.at(-1)).toBe('GET /secret');
  });

  it('a name the system resolver gives as loopback (localhost) is refused where the socket connects, unless allowed at publish', async () => {
    const entry = `localhost:${port}`;
    const error = await refusal(get(`http://${entry}/`, { allow: [entry] }));
    expect(error.code).toBe('SANDBOX.CAPABILITY_DENIED');
    expect(error.message).toMatch(/^localhost resolves to .*127\.0\.0\.1 \(127\.0\.0\.0\/8, loopback \(this machine\)\)/);
    expect(await get(`http://${entry}/`, { allow: [entry], privateEgress: [entry], lookup: systemLookup })).toMatchObject({ status: 200 });
  });

  it.each([
    ['NAT64', '64:ff9b::7f00:1', '64:ff9b::/96'],
    ['6to4', '2002:7f00:1::1', '2002::/16'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1', '::ffff:127.0.0.0/104'],
    ['IPv4-mapped metadata', '::ffff:169.254.169.254', '::ffff:169.254.0.0/112'],
    ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::/32'],
    ['unique local', 'fd00::1', 'fc00::/7'],
  ])('a public-looking name rebinding to %s (%s) is refused, naming %s', async (_what, address, cidr) => {
    const entry = `rebind.example.com:${port}`;
    const before = received.length;
    const error = await refusal(get(`http://${entry}/`, { allow: [entry], lookup: resolvingTo(address) }));
    expect(error.code).toBe('SANDBOX.CAPABILITY_DENIED');
    expect(error.message).toContain(`rebind.example.com resolves to ${address} (${cidr},`);
    expect(received.length).toBe(before);
  });

  it('an IPv4-mapped answer reaches the loopback server when the name was allowed at publish: the refusal above is what keeps it out', async () => {
    const entry = `rebind.example.com:${port}`;
    const before = received.length;
    const reply = await get(`http://${entry}/mapped`, { allow: [entry], privateEgress: [entry], lookup: resolvingTo('::ffff:127.0.0.1') });
    expect(reply).toMatchObject({ status: 200, body: 'internal' });
    expect(received.slice(before)).toEqual(['GET /mapped']);
  });

  it('another entry being allowed private egress does not open this one', async () => {
    const entry = `rebind.example.com:${port}`;
    const error = await refusal(get(`http://${entry}/`, { allow: [entry, '10.0.0.1'], privateEgress: ['10.0.0.1'], lookup: resolvingTo('::ffff:127.0.0.1') }));
    expect(error.code).toBe('SANDBOX.CAPABILITY_DENIED');
  });

  it('a redirect from an allowed private host to the metadata address is refused', async () => {
    const entry = `127.0.0.1:${port}`;
    const error = await refusal(get(`http://${entry}/to-metadata`, { allow: [entry, '169.254.169.254'], privateEgress: [entry] }));
    expect(error).toMatchObject({ code: 'SANDBOX.CAPABILITY_DENIED', details: { range: '169.254.0.0/16' } });
  });

  it('a wildcard entry never stands for an IP address', async () => {
    const error = await refusal(get(`http://127.0.0.1:${port}/`, { allow: [`*.0.0.1:${port}`], privateEgress: [`*.0.0.1:${port}`] }));
    expect(error.code).toBe('SANDBOX.CAPABILITY_DENIED');
    expect(error.message).toMatch(/is not on the plugin's http allow-list/);
  });
});
