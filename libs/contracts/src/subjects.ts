/**
 * Subject, stream, bucket and consumer names. With an empty namespace the names are
 * exactly those of docs/bus.md; a namespace prefixes every one of them so that several
 * platforms (or test runs) can share one NATS server without seeing each other.
 */
export type ServiceName = 'registry' | 'signer' | 'sandbox-runner' | 'policy' | 'audit-projector' | 'gateway' | 'siem-forwarder';

export const SERVICES: readonly ServiceName[] = ['registry', 'signer', 'sandbox-runner', 'policy', 'audit-projector', 'gateway', 'siem-forwarder'];

const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function assertValidNamespace(namespace: string): void {
  if (namespace !== '' && !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(
      `FORGEONE_NAMESPACE "${namespace}" is invalid: use 1-40 lowercase letters, digits or '-', starting with a letter or digit`,
    );
  }
}

/**
 * Encodes an identifier (a plugin name such as `acme/pii-redactor`) into one subject token.
 * Letters, digits, '-' and '_' stay; every other byte becomes `~` and two hex digits, so the
 * encoding is reversible and never yields '.', '*', '>' or white space.
 */
export function encodeSubjectToken(id: string): string {
  if (id.length === 0) throw new Error('cannot encode an empty identifier as a subject token');
  // Every append names its subject: an id that needs no escaping is its own token, the others are
  // looked up byte by byte in a table built once (no regex, encoder or hex formatting per byte).
  if (TOKEN_SAFE.test(id)) return id;
  let out = '';
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    // An ASCII character is its own UTF-8 byte; past the first other one, the rest goes through the encoder.
    if (code >= 0x80) {
      for (const byte of utf8.encode(id.slice(i))) out += TOKEN_OF_BYTE[byte];
      return out;
    }
    out += TOKEN_OF_BYTE[code];
  }
  return out;
}

const TOKEN_SAFE = /^[A-Za-z0-9_-]+$/;
const TOKEN_OF_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  const ch = String.fromCharCode(byte);
  return /[A-Za-z0-9_-]/.test(ch) ? ch : `~${byte.toString(16).padStart(2, '0')}`;
});
const utf8 = new TextEncoder();

export function decodeSubjectToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

export interface Names {
  readonly namespace: string;
  /** The event stream (`FORGEONE_EVENTS`). */
  readonly stream: string;
  /** All event subjects, for the stream config and whole-stream consumers. */
  readonly eventsWildcard: string;
  /** The subject of one aggregate's events: `forgeone.evt.<aggregate>.<id>`. */
  eventSubject(aggregate: string, id: string): string;
  /** Every instance of one aggregate: `forgeone.evt.<aggregate>.>` (an id is always one token, so `.*` would match the same). */
  aggregateEvents(aggregate: string): string;
  /** What every event subject starts with, namespace included: `forgeone.evt.`. */
  readonly eventsPrefix: string;
  /** What every platform subject starts with: the namespace and a dot, or nothing. */
  readonly subjectPrefix: string;
  /** A command subject: `forgeone.cmd.<service>.<verb>`. */
  command(service: ServiceName, verb: string): string;
  readonly authzCheck: string;
  invoke(environment: string, plugin: string): string;
  /** Readiness probe each service answers. */
  health(service: ServiceName): string;
  /** Runs an installed version's test vectors: only the sandbox-runner answers, only the registry asks. */
  readonly testVectors: string;
  /** JetStream object store bucket holding artifacts by digest. */
  readonly artifactBucket: string;
  /** JetStream key/value bucket of plugin storage (the `kv_*` host functions). */
  readonly pluginKvBucket: string;
  /** Durable consumer name for a reader of the stream. */
  consumer(name: string): string;
  /** Queue group for a service's command subscriptions. */
  queue(service: ServiceName): string;
}

export function names(namespace = ''): Names {
  assertValidNamespace(namespace);
  const p = namespace ? `${namespace}.` : '';
  const upper = namespace ? `${namespace.toUpperCase().replace(/-/g, '_')}_` : '';
  const lower = namespace ? `${namespace}-` : '';
  return {
    namespace,
    stream: `${upper}FORGEONE_EVENTS`,
    eventsWildcard: `${p}forgeone.evt.>`,
    eventSubject: (aggregate, id) => `${p}forgeone.evt.${encodeSubjectToken(aggregate)}.${encodeSubjectToken(id)}`,
    aggregateEvents: (aggregate) => `${p}forgeone.evt.${encodeSubjectToken(aggregate)}.>`,
    eventsPrefix: `${p}forgeone.evt.`,
    subjectPrefix: p,
    command: (service, verb) => `${p}forgeone.cmd.${service}.${verb}`,
    authzCheck: `${p}forgeone.authz.check`,
    invoke: (environment, plugin) => `${p}forgeone.invoke.${encodeSubjectToken(environment)}.${encodeSubjectToken(plugin)}`,
    health: (service) => `${p}forgeone.health.${service}`,
    testVectors: `${p}forgeone.sandbox.test-vectors`,
    artifactBucket: `${lower}forgeone-artifacts`,
    pluginKvBucket: `${lower}forgeone-plugin-kv`,
    consumer: (name) => `${lower}${name}`,
    queue: (service) => `${lower}forgeone-${service}`,
  };
}

/**
 * The id of an aggregate instance that lives inside a tenant: `<tenant>:<name>` (plugins, their
 * signature results, keys). Tenant ids contain no ':', so the tenant is everything before the first one.
 */
export function tenantAggregateId(tenant: string, name: string): string {
  if (tenant.length === 0 || tenant.includes(':')) throw new Error(`tenant id "${tenant}" cannot start an aggregate id: it must be non-empty and hold no ':'`);
  return `${tenant}:${name}`;
}

/** NATS header names used on commands, replies and events. */
export const HEADERS = {
  credential: 'Authorization',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  tenant: 'Forgeone-Tenant',
  /**
   * Where the end user's request came from, as the service that forwards it saw it (the gateway
   * sends `http <client address>`); a service passes it on with its authz.check. Not a credential.
   */
  source: 'Forgeone-Source',
  eventType: 'Ce-Type',
  msgId: 'Nats-Msg-Id',
  expectedLastSubjectSequence: 'Nats-Expected-Last-Subject-Sequence',
  /** The service that wrote a stored event (docs: ARCHITECTURE.md, "Authorship"). */
  eventWriter: 'Forgeone-Writer',
  /**
   * Base64 Ed25519 signature of the writer: over the event's subject and payload, or, when the event
   * carries `Forgeone-Proof`, over the Merkle root of the batch it was signed in (docs/bus.md).
   */
  eventSignature: 'Forgeone-Signature',
  /** Base64 of the batch's Merkle root and the event's inclusion path to it; absent on an event signed alone. */
  eventProof: 'Forgeone-Proof',
} as const;
