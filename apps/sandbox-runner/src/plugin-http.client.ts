import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ForgeOneError, refusedRangeOf, type RefusedAddressRange } from '@forgeone/contracts';
import { z } from 'zod';

/** What a guest sends to `http_request` (JSON). */
export const GuestHttpRequestSchema = z
  .object({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    url: z.string().url(),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    bodyBase64: z.base64().optional(),
  })
  .strict();

/** What the guest gets back: `body` when the bytes are UTF-8 text, otherwise `bodyBase64`. */
export interface GuestHttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly bodyBase64?: string;
}

export interface PluginHttpOptions {
  /** The manifest's `capabilities.http.allow`. */
  readonly allow: readonly string[];
  /**
   * The allow-list entries naming refused addresses that this version's publisher was allowed
   * (`privateEgress` of its version_published event); only through these may it reach them.
   */
  readonly privateEgress?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  readonly maxRedirects?: number;
  /** Resolves host names where the socket connects (default: the system resolver, `dns.lookup`). */
  readonly lookup?: typeof dnsLookup;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Makes one HTTP request for a plugin: only to hosts on its allow-list (exact host, or `*.domain`
 * for sub-domains, optionally `:port`; without a port only the scheme's default port), following
 * at most a few redirects and only to allowed hosts, and never to an address in
 * REFUSED_ADDRESS_RANGES (loopback, private, link-local, NAT64, 6to4, IPv4-mapped, ...) unless the
 * entry it matched is one of the version's `privateEgress`. The address is checked where the socket
 * connects (the DNS lookup), so a name cannot resolve to something else after the check (DNS rebinding).
 */
export async function pluginHttpRequest(raw: unknown, options: PluginHttpOptions): Promise<GuestHttpResponse> {
  const parsed = GuestHttpRequestSchema.safeParse(raw);
  if (!parsed.success) throw new ForgeOneError('COMMAND.INVALID', `http_request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  const req = parsed.data;
  const body = req.bodyBase64 !== undefined ? Buffer.from(req.bodyBase64, 'base64') : req.body !== undefined ? Buffer.from(req.body, 'utf8') : undefined;
  let url = new URL(req.url);
  let method: string = req.method;
  let payload = body;
  const maxRedirects = options.maxRedirects ?? 3;
  for (let hop = 0; ; hop++) {
    const match = allowedEntry(url, options.allow);
    if (match === undefined) {
      throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', `${hop === 0 ? '' : 'redirect to '}${url.host} is not on the plugin's http allow-list (${options.allow.join(', ')})`, {
        host: url.host,
        hook: 'http',
      });
    }
    // Sockets skip the lookup for an IP literal, so check it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    const range = isIP(literal) !== 0 ? refusedRangeOf(literal) : undefined;
    if (range !== undefined && !(options.privateEgress ?? []).includes(match)) {
      throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', `${literal} is in ${range.cidr} (${range.name}), which plugins may not reach; ${HOW_TO_ALLOW}`, {
        host: url.host,
        hook: 'http',
        range: range.cidr,
      });
    }
    const response = await send(url, method, req.headers, payload, match, options);
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && location !== undefined) {
      if (hop >= maxRedirects) throw new ForgeOneError('SANDBOX.CAPABILITY_DENIED', `more than ${maxRedirects} redirects from ${req.url}`, { hook: 'http' });
      url = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        payload = undefined;
      }
      continue;
    }
    return response;
  }
}

const HOW_TO_ALLOW = 'only a version whose allow-list entry for it was allowed at publish (publish-private-egress, by default the platform administrator) may';

function allowedEntry(url: URL, allow: readonly string[]): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return allow.find((entry) => {
    const [pattern, entryPort] = entry.toLowerCase().split(':');
    const defaultPort = url.port === '';
    if (entryPort === undefined ? !defaultPort : entryPort !== port) return false;
    // `*.0.0.1` must not admit 127.0.0.1: a wildcard stands for names only.
    if (pattern.startsWith('*.')) return isIP(host) === 0 && host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
    return host === pattern;
  });
}

function guardedLookup(entry: string, options: PluginHttpOptions): LookupFunction {
  const privateAllowed = (options.privateEgress ?? []).includes(entry);
  const lookup = options.lookup ?? dnsLookup;
  return (hostname, lookupOptions, callback) => {
    lookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const refused = list.map((a) => [a.address, refusedRangeOf(a.address)] as const).filter((r): r is readonly [string, RefusedAddressRange] => r[1] !== undefined);
      const usable = privateAllowed ? list : list.filter((a) => !refused.some(([address]) => address === a.address));
      if (usable.length === 0) {
        const where = refused.map(([address, range]) => `${address} (${range.cidr}, ${range.name})`).join(', ');
        const error = Object.assign(new Error(`${hostname} resolves to ${where || 'no address'}, which plugins may not reach; ${HOW_TO_ALLOW}`), {
          code: 'FORGEONE_PRIVATE_ADDRESS',
        });
        return callback(error, '', 0);
      }
      if ((lookupOptions as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

function send(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, entry: string, options: PluginHttpOptions): Promise<GuestHttpResponse> {
  const maxBytes = options.maxResponseBytes ?? 512 * 1024;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    // agent: false, a connection of its own: a pooled keep-alive socket would skip the lookup, so one
    // version's allowed private address could serve another version's request to the same host and port.
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method, headers: { ...headers, ...(body ? { 'content-length': String(body.byteLength) } : {}) }, lookup: guardedLookup(entry, options), timeout: timeoutMs, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > maxBytes) {
            request.destroy(new ForgeOneError('SANDBOX.OUTPUT_TOO_LARGE', `the response of ${url.host} is larger than ${maxBytes} bytes`, { hook: 'http' }));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const bytes = Buffer.concat(chunks);
          let text: string | undefined;
          try {
            text = utf8.decode(bytes);
          } catch {
            text = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: flatten(response.headers), ...(text !== undefined ? { body: text } : { bodyBase64: bytes.toString('base64') }) });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url.host} did not answer within ${timeoutMs} ms`)));
    request.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'FORGEONE_PRIVATE_ADDRESS') reject(new ForgeOneError('SANDBOX.CAPABILITY_DENIED', error.message, { host: url.host, hook: 'http' }));
      else reject(error);
    });
    request.end(body);
  });
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}
