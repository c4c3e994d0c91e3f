import { ForgeOneError, describeIssues } from '@forgeone/contracts';
import { z } from 'zod';
import type { HostCallContext, HostHooks } from './sandbox.types.js';

const HttpMethodSchema = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** One recorded answer: the request it matches (method and exact URL) and the response the guest gets. */
const HttpFixtureSchema = z
  .object({
    method: HttpMethodSchema.default('GET'),
    url: z.string().url(),
    status: z.number().int().min(100).max(599).default(200),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    bodyBase64: z.base64().optional(),
  })
  .strict()
  .refine((f) => f.body === undefined || f.bodyBase64 === undefined, { message: 'give body or bodyBase64, not both' });

/** The file `forgeone plugin test --local --http-fixtures FILE` reads: `{ "http": [ { method, url, status, headers, body } ] }`. */
export const HttpFixturesSchema = z.object({ http: z.array(HttpFixtureSchema).max(1000) }).strict();

export type HttpFixtures = z.infer<typeof HttpFixturesSchema>;

/** Parses a fixtures document; throws COMMAND.INVALID naming each problem and `source`. */
export function parseHttpFixtures(text: string, source: string): HttpFixtures {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ForgeOneError('COMMAND.INVALID', `${source} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = HttpFixturesSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ForgeOneError('COMMAND.INVALID', `${source} is not an http fixtures file ({"http": [{"method", "url", "status", "headers", "body"}]}): fix the field(s) listed below`, {
      problems: describeIssues(parsed.error.issues),
    });
  }
  return parsed.data;
}

const GuestHttpRequestSchema = z
  .object({
    method: HttpMethodSchema.default('GET'),
    url: z.string().url(),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    bodyBase64: z.string().optional(),
  })
  .strict();

/** What the local hooks did that a plugin author should hear about. */
export interface LocalHookNote {
  readonly hook: 'http' | 'auth';
  readonly message: string;
}

/**
 * Host hooks for running a plugin on one machine without a platform: plugin storage in memory
 * (kept across calls of one run, per plugin) and http answered only from recorded fixtures, never
 * the network. The allow-list is applied as on the platform: exact host (default port unless
 * `host:port`) or `*.domain`. `auth_check` has no policy to ask, so it fails (-3).
 */
export class LocalHostHooks implements HostHooks {
  private readonly store = new Map<string, Uint8Array>();
  private readonly noted: LocalHookNote[] = [];

  constructor(private readonly fixtures: HttpFixtures = { http: [] }) {}

  /** Requests without a fixture and other refusals since the last call of this method. */
  takeNotes(): LocalHookNote[] {
    return this.noted.splice(0);
  }

  async kvGet(ctx: HostCallContext, key: string): Promise<Uint8Array | undefined> {
    return this.store.get(`${ctx.plugin}\u0000${key}`);
  }

  async kvSet(ctx: HostCallContext, key: string, value: Uint8Array): Promise<void> {
    this.store.set(`${ctx.plugin}\u0000${key}`, value.slice());
  }

  async kvDelete(ctx: HostCallContext, key: string): Promise<boolean> {
    return this.store.delete(`${ctx.plugin}\u0000${key}`);
  }

  async httpRequest(ctx: HostCallContext, raw: unknown): Promise<unknown> {
    const parsed = GuestHttpRequestSchema.safeParse(raw);
    if (!parsed.success) throw this.note('http', `http_request: ${describeIssues(parsed.error.issues).join('; ')}`, 'COMMAND.INVALID');
    const { method, url } = parsed.data;
    const target = new URL(url);
    const allow = ctx.capabilities.http?.allow ?? [];
    if (!allowedByList(target, allow)) {
      throw this.note('http', `${method} ${url}: ${target.host} is not on the plugin's http allow-list (${allow.join(', ') || 'empty'})`, 'SANDBOX.CAPABILITY_DENIED');
    }
    const fixture = this.fixtures.http.find((f) => f.method === method && f.url === target.href);
    if (fixture === undefined) throw this.note('http', `${method} ${url}: no fixture answers this request (the network is never used locally); add it to --http-fixtures`, 'SERVICE.UNAVAILABLE');
    return {
      status: fixture.status,
      headers: fixture.headers,
      ...(fixture.bodyBase64 !== undefined ? { bodyBase64: fixture.bodyBase64 } : { body: fixture.body ?? '' }),
    };
  }

  async authCheck(): Promise<boolean> {
    throw this.note('auth', 'auth_check has no policy to ask outside a platform: the guest sees -3 (failed)', 'SERVICE.UNAVAILABLE');
  }

  private note(hook: LocalHookNote['hook'], message: string, code: 'COMMAND.INVALID' | 'SANDBOX.CAPABILITY_DENIED' | 'SERVICE.UNAVAILABLE'): ForgeOneError {
    this.noted.push({ hook, message });
    return new ForgeOneError(code, message, { hook });
  }
}

function allowedByList(url: URL, allow: readonly string[]): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return allow.some((entry) => {
    const [pattern, entryPort] = entry.toLowerCase().split(':');
    if (entryPort === undefined ? url.port !== '' : entryPort !== port) return false;
    if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
    return host === pattern;
  });
}
