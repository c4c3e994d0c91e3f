import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { refusedRangeOf, type RefusedAddressRange } from './egress.js';
import { SealedSecretSchema } from './plugin-config.js';
import { tenantAggregateId } from './subjects.js';

/**
 * A tenant's own SIEM sinks (docs/siem.md): one `siem-sink` aggregate per sink of a tenant (id
 * `<tenant>:<name>`), written by the registry, which holds tenant configuration and seals secrets.
 * The siem-forwarder reads these events and runs each sink, delivering only that tenant's events.
 * A HEC token is stored sealed (AES-256-GCM under the platform's configuration key), never in clear.
 */
export const SIEM_SINK_AGGREGATE = 'siem-sink';

export const SIEM_SINK_EVENT_TYPES = {
  added: 'io.forgeone.siem_sink.added.v1',
  removed: 'io.forgeone.siem_sink.removed.v1',
} as const;

export const SIEM_SINK_VERBS = { add: 'siem-sinks.add', list: 'siem-sinks.list', remove: 'siem-sinks.remove' } as const;
/** Answered by the siem-forwarder, the one process that connects to addresses configured from outside. */
export const SIEM_FORWARDER_VERBS = { status: 'status', testSink: 'sink-test' } as const;

export function siemSinkAggregateId(tenant: string, name: string): string {
  return tenantAggregateId(tenant, name);
}

/** What a sealed HEC token is bound to: a ciphertext copied to another tenant or sink does not open. */
export function siemSinkTokenBinding(tenant: string, name: string): string {
  return `forgeone.siem-sink.v1\n${tenant}\n${name}`;
}

export const SiemSinkNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a sink name: lowercase letters, digits and "-", at most 63');
export const SiemSinkKindSchema = z.enum(['syslog', 'hec'], { error: () => 'must be syslog or hec' });
const SeveritySchema = z.enum(['low', 'medium', 'high'], { error: () => 'must be low, medium or high' });
const TypePatternSchema = z
  .string()
  .regex(/^io\.forgeone\.[a-z_.]*\*?$|^io\.forgeone\.[a-z_]+\.[a-z_]+\.v[0-9]+$/, 'must be an event type (io.forgeone.<aggregate>.<event>.v<n>) or a prefix ending in *');
const CaPemSchema = z
  .string()
  .max(16_384, 'must be at most 16 KiB')
  .refine((pem) => pem.includes('-----BEGIN CERTIFICATE-----'), 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
/** A HEC token as the collector takes it (`Authorization: Splunk <token>`). */
export const HecTokenSchema = z.string().regex(/^[\x21-\x7e]{1,512}$/, 'must be 1-512 printable characters without spaces');

/** Where a sink sends, parsed: the URL's host (brackets removed) and port. */
export interface SiemSinkEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * The endpoint of a sink URL, or a message saying what is wrong: syslog `tcp://host:port` or
 * `tls://host:port` (nothing else), HEC `https://host[:port]/path` without credentials or query.
 */
export function siemSinkEndpoint(kind: 'syslog' | 'hec', raw: string): SiemSinkEndpoint | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password) return 'must not hold credentials (give a HEC token as token)';
  if (url.search || url.hash) return 'must not have a query or fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) return 'needs a host';
  if (kind === 'syslog') {
    if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') return 'must be tcp://host:port or tls://host:port';
    if (!url.port) return 'needs a port, as in tls://siem.example.com:6514';
    if (url.pathname && url.pathname !== '/') return 'must not have a path';
    return { host, port: Number(url.port) };
  }
  if (url.protocol !== 'https:') return 'must be an https URL (the collector is reached over https only)';
  return { host, port: url.port ? Number(url.port) : 443 };
}

/** `tls://…` or `tcp://…` syslog, or HEC (always TLS). */
export function siemSinkUsesTls(kind: 'syslog' | 'hec', url: string): boolean {
  return kind === 'hec' || url.startsWith('tls:');
}

const SinkFilterFields = {
  minSeverity: SeveritySchema.nullable(),
  types: z.array(TypePatternSchema).max(64),
};

export const SiemSinkAddedSchema = z.discriminatedUnion('kind', [
  z.object({ name: SiemSinkNameSchema, kind: z.literal('syslog'), url: z.string().max(2048), ca: CaPemSchema.nullable(), ...SinkFilterFields }).strict(),
  z.object({ name: SiemSinkNameSchema, kind: z.literal('hec'), url: z.string().max(2048), ca: CaPemSchema, token: SealedSecretSchema, ...SinkFilterFields }).strict(),
]);
export type SiemSinkDefinition = z.infer<typeof SiemSinkAddedSchema>;
export const SiemSinkRemovedSchema = z.object({ name: SiemSinkNameSchema }).strict();

export type SiemSinkEvent =
  | { readonly type: typeof SIEM_SINK_EVENT_TYPES.added; readonly data: SiemSinkDefinition }
  | { readonly type: typeof SIEM_SINK_EVENT_TYPES.removed; readonly data: z.infer<typeof SiemSinkRemovedSchema> };

export function isSiemSinkEvent(event: { readonly type: string }): event is SiemSinkEvent {
  return (Object.values(SIEM_SINK_EVENT_TYPES) as string[]).includes(event.type);
}

/** `siem sink add`: where, how, and which of the tenant's events (all by default). */
export const AddSiemSinkRequestSchema = z
  .object({
    name: SiemSinkNameSchema,
    kind: SiemSinkKindSchema,
    url: z.string().min(1).max(2048),
    ca: CaPemSchema.optional(),
    token: HecTokenSchema.optional(),
    minSeverity: SeveritySchema.optional(),
    types: z.array(TypePatternSchema).max(64).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const endpoint = siemSinkEndpoint(r.kind, r.url);
    if (typeof endpoint === 'string') ctx.addIssue({ code: 'custom', path: ['url'], message: endpoint });
    const tls = siemSinkUsesTls(r.kind, r.url);
    if (tls && !r.ca) ctx.addIssue({ code: 'custom', path: ['ca'], message: 'is required: the forwarder trusts only the CA you give for this sink (a PEM certificate)' });
    if (!tls && r.ca) ctx.addIssue({ code: 'custom', path: ['ca'], message: 'is only for tls:// syslog or HEC; use tls:// to send over TLS' });
    if (r.kind === 'hec' && !r.token) ctx.addIssue({ code: 'custom', path: ['token'], message: 'is required for a HEC sink (sent as "Authorization: Splunk <token>")' });
    if (r.kind === 'syslog' && r.token) ctx.addIssue({ code: 'custom', path: ['token'], message: 'is only for HEC sinks' });
  });
export type AddSiemSinkRequest = z.infer<typeof AddSiemSinkRequestSchema>;
export const SiemSinkNameRequestSchema = z.object({ name: SiemSinkNameSchema }).strict();
export const ListSiemSinksRequestSchema = z.object({}).strict();

/** One sink as `siem sink list` shows it: never the token (only whether one is set), never the CA's text. */
export const SiemSinkViewSchema = z
  .object({
    name: SiemSinkNameSchema,
    kind: SiemSinkKindSchema,
    url: z.string(),
    tls: z.boolean(),
    tokenSet: z.boolean(),
    minSeverity: SeveritySchema.nullable(),
    types: z.array(z.string()),
    addedBy: z.string().nullable(),
    addedAt: z.string().nullable(),
  })
  .strict();
export type SiemSinkView = z.infer<typeof SiemSinkViewSchema>;
export const SiemSinkListReplySchema = z.object({ sinks: z.array(SiemSinkViewSchema) }).strict();
export type SiemSinkListReply = z.infer<typeof SiemSinkListReplySchema>;
export const SiemSinkChangeReplySchema = z.object({ name: SiemSinkNameSchema, outcome: z.enum(['added', 'removed']), sequence: z.number().int().min(0) }).strict();
export type SiemSinkChangeReply = z.infer<typeof SiemSinkChangeReplySchema>;
export const SiemSinkTestReplySchema = z.object({ name: SiemSinkNameSchema, delivered: z.literal(true), eventId: z.string(), ms: z.number().min(0) }).strict();
export type SiemSinkTestReply = z.infer<typeof SiemSinkTestReplySchema>;

export function siemSinkViewOf(definition: SiemSinkDefinition, addedBy: string | null, addedAt: string | null): SiemSinkView {
  return {
    name: definition.name,
    kind: definition.kind,
    url: definition.url,
    tls: siemSinkUsesTls(definition.kind, definition.url),
    tokenSet: definition.kind === 'hec',
    minSeverity: definition.minSeverity,
    types: [...definition.types],
    addedBy,
    addedAt,
  };
}

/** The state of one sink aggregate: its definition while it exists, with who added it. */
export interface SiemSinkState {
  readonly sink: { readonly definition: SiemSinkDefinition; readonly addedBy: string | null; readonly addedAt: string | null } | null;
}

export function initialSiemSinkState(): SiemSinkState {
  return { sink: null };
}

/** evolve for `siem-sink`; shared by the registry's decider and the forwarder's table of tenant sinks. */
export function evolveSiemSink(_state: SiemSinkState, event: SiemSinkEvent & { readonly actor?: string; readonly time?: string }): SiemSinkState {
  switch (event.type) {
    case SIEM_SINK_EVENT_TYPES.added:
      return { sink: { definition: event.data, addedBy: event.actor ?? null, addedAt: event.time ?? null } };
    case SIEM_SINK_EVENT_TYPES.removed:
      return { sink: null };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** An address a tenant sink may not reach, and the refused block it falls in. */
export interface RefusedSinkAddress {
  readonly address: string;
  readonly range: RefusedAddressRange;
}

/**
 * The blocks of REFUSED_ADDRESS_RANGES a platform administrator opened to tenant sinks
 * (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE, comma-separated CIDRs or addresses). Throws naming the entry.
 */
export function parseAllowedPrivateCidrs(raw: string | undefined, variable = 'FORGEONE_SIEM_TENANT_ALLOW_PRIVATE'): readonly string[] {
  const entries = (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  return entries.map((entry) => {
    try {
      const [address, prefix] = entry.includes('/') ? ipaddr.parseCIDR(entry) : [ipaddr.parse(entry), undefined];
      return `${address.toString()}/${prefix ?? (address.kind() === 'ipv4' ? 32 : 128)}`;
    } catch {
      throw new Error(`${variable}: "${entry}" is not an IP address or a CIDR block (as in 10.0.5.0/24)`);
    }
  });
}

/**
 * The addresses of `addresses` a tenant sink may not reach: those in REFUSED_ADDRESS_RANGES
 * (loopback, private, link-local with the metadata address, ...) outside every `allowed` block,
 * and anything that is not an IP address (fail closed). Empty: every address may be used.
 */
export function refusedSinkAddresses(addresses: readonly string[], allowed: readonly string[]): RefusedSinkAddress[] {
  const blocks = allowed.map((cidr) => ipaddr.parseCIDR(cidr));
  const refused: RefusedSinkAddress[] = [];
  for (const address of addresses) {
    const range = refusedRangeOf(address);
    if (range === undefined) continue;
    let parsed: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
    try {
      const p = ipaddr.parse(address.replace(/^\[|\]$/g, ''));
      parsed = p.kind() === 'ipv6' && (p as ipaddr.IPv6).isIPv4MappedAddress() ? (p as ipaddr.IPv6).toIPv4Address() : p;
    } catch {
      parsed = undefined;
    }
    const open = parsed !== undefined && blocks.some((block) => block[0].kind() === parsed.kind() && parsed.match(block as [ipaddr.IPv4 | ipaddr.IPv6, number]));
    if (!open) refused.push({ address, range });
  }
  return refused;
}

/** "127.0.0.1 is in 127.0.0.0/8 (loopback (this machine)); ..." for a message. */
export function describeRefusedSinkAddresses(host: string, refused: readonly RefusedSinkAddress[]): string {
  const where = refused.map(({ address, range }) => `${address} is in ${range.cidr} (${range.name})`).join('; ');
  return `${host === refused[0]?.address ? '' : `${host}: `}${where}`;
}
