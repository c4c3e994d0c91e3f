import { aggregatesOwnedBy } from './event-ownership.js';
import { encodeSubjectToken, SERVICES, type Names, type ServiceName } from './subjects.js';

/**
 * Who may connect to the platform's NATS: each service, named automation clients (commands and
 * invocations only) and the operator (provisioning and administration).
 */
export type BusPrincipal = { readonly kind: 'service'; readonly service: ServiceName } | { readonly kind: 'client'; readonly name: string } | { readonly kind: 'operator' };

/** What one principal may do on NATS: allow-lists for publish and subscribe, as nats-server enforces them. */
export interface BusPermissions {
  /** Subjects it may publish to (requests, events it owns, the JetStream API calls it needs). */
  readonly publish: readonly string[];
  /** Subjects it may never publish to, even if an allow entry would match (the stream administration API). */
  readonly publishDeny: readonly string[];
  /** Subjects it may subscribe to (its own inbox, the commands it serves). */
  readonly subscribe: readonly string[];
  /** True when it answers requests: it may publish one reply to the reply subject of a request it received. */
  readonly allowResponses: boolean;
  /** The inbox prefix it must connect with; replies to its requests arrive below it and nobody else may read them. */
  readonly inboxPrefix: string;
}

const CLIENT_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Throws unless `name` is a valid automation client name (1-40 lowercase letters, digits or '-'). */
export function assertValidClientName(name: string): void {
  if (!CLIENT_NAME.test(name)) {
    throw new Error(`client name "${name}" is invalid: use 1-40 lowercase letters, digits or '-', starting with a letter or digit`);
  }
}

/** The NATS user name of a principal (services by name, clients as `client-<name>`, the operator as `operator`). */
export function busUserName(principal: BusPrincipal): string {
  switch (principal.kind) {
    case 'service':
      return principal.service;
    case 'client':
      assertValidClientName(principal.name);
      return `client-${principal.name}`;
    case 'operator':
      return 'operator';
  }
}

/** The inbox prefix of a principal: `_INBOX_<namespace>_<user>` (no namespace: `_INBOX_<user>`), with '-' as '_'. */
export function busInboxPrefix(names: Names, principal: BusPrincipal): string {
  const parts = [names.namespace, busUserName(principal)].filter(Boolean).map((part) => part.replace(/-/g, '_'));
  return `_INBOX_${parts.join('_')}`;
}

// The JetStream administration API no application principal may call: creating, changing, deleting,
// purging or restoring any stream (the event stream, the object store's, a KV bucket's), removing
// messages, or account and cluster administration. The operator does these.
const STREAM_ADMINISTRATION = [
  '$JS.API.STREAM.CREATE.>',
  '$JS.API.STREAM.UPDATE.>',
  '$JS.API.STREAM.DELETE.>',
  '$JS.API.STREAM.PURGE.>',
  '$JS.API.STREAM.MSG.DELETE.>',
  '$JS.API.STREAM.SNAPSHOT.>',
  '$JS.API.STREAM.RESTORE.>',
  '$JS.API.STREAM.PEER.>',
  '$JS.API.STREAM.LEADER.>',
  '$JS.API.ACCOUNT.>',
  '$JS.API.META.>',
  '$JS.API.SERVER.>',
];

// The registry may purge objects of the artifact store, and nothing else.
function registryDeny(names: Names): string[] {
  return [
    ...STREAM_ADMINISTRATION.filter((subject) => subject !== '$JS.API.STREAM.PURGE.>'),
    `$JS.API.STREAM.PURGE.${names.stream}`,
    `$JS.API.STREAM.PURGE.${kvStream(names.pluginKvBucket)}`,
  ];
}

/** Reading a stream: its info, single messages, consumers of one's own (ordered or durable), acks and flow control. */
function readStream(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

const objectStoreStream = (bucket: string) => `OBJ_${bucket}`;
const kvStream = (bucket: string) => `KV_${bucket}`;

/** The command subjects a service answers, besides its health subject. */
function servedSubjects(names: Names, service: ServiceName): string[] {
  const prefix = names.namespace ? `${names.namespace}.` : '';
  switch (service) {
    case 'registry':
    case 'signer':
      return [`${prefix}forgeone.cmd.${service}.>`];
    case 'policy':
      return [`${prefix}forgeone.cmd.policy.>`, names.authzCheck];
    case 'sandbox-runner':
      return [`${prefix}forgeone.invoke.>`, `${prefix}forgeone.cmd.sandbox-runner.>`, names.testVectors];
    case 'audit-projector':
      return [`${prefix}forgeone.cmd.audit-projector.>`];
    case 'gateway':
      return [];
    // The SIEM forwarder answers its status query and sink tests; it reads the stream and writes no events.
    case 'siem-forwarder':
      return [`${prefix}forgeone.cmd.siem-forwarder.>`];
  }
}

/** The requests a service sends to other services. */
function sentRequests(names: Names, service: ServiceName): string[] {
  const prefix = names.namespace ? `${names.namespace}.` : '';
  switch (service) {
    case 'gateway':
      return [
        `${prefix}forgeone.cmd.registry.>`,
        `${prefix}forgeone.cmd.policy.>`,
        `${prefix}forgeone.cmd.signer.>`,
        `${prefix}forgeone.cmd.sandbox-runner.>`,
        `${prefix}forgeone.cmd.siem-forwarder.>`,
        `${prefix}forgeone.invoke.>`,
        `${prefix}forgeone.health.>`,
        names.authzCheck,
        // An evidence export's manifest is signed by the holder of the audit key; rebuilds stay the operator's.
        `${prefix}forgeone.cmd.audit-projector.sign-evidence`,
      ];
    // Test runs: the registry decides and records them, the runner runs the vectors it is asked to.
    case 'registry':
      return [names.authzCheck, names.testVectors];
    case 'signer':
    case 'sandbox-runner':
    case 'audit-projector':
      return [names.authzCheck];
    case 'siem-forwarder':
      return [names.authzCheck];
    case 'policy':
      return [];
  }
}

// Services whose authorisation cache is dropped when a policy or token event is appended (libs/authz-client).
const AUTHZ_CLIENTS: readonly ServiceName[] = ['registry', 'signer', 'sandbox-runner', 'gateway', 'audit-projector', 'siem-forwarder'];

function servicePermissions(names: Names, service: ServiceName): BusPermissions {
  const prefix = names.namespace ? `${names.namespace}.` : '';
  const owned = aggregatesOwnedBy(service).map((aggregate) => `${prefix}forgeone.evt.${encodeSubjectToken(aggregate)}.*`);
  const artifacts = objectStoreStream(names.artifactBucket);
  const pluginKv = kvStream(names.pluginKvBucket);
  // Every service reads the configuration of all three at start, and refuses to run on storage that was weakened.
  const storageInfo = [artifacts, pluginKv].map((stream) => `$JS.API.STREAM.INFO.${stream}`);
  const publish = [...owned, ...sentRequests(names, service), '$JS.API.INFO', ...readStream(names.stream), ...storageInfo];
  const subscribe = [`${busInboxPrefix(names, { kind: 'service', service })}.>`, ...servedSubjects(names, service), names.health(service)];
  if (AUTHZ_CLIENTS.includes(service)) subscribe.push(`${prefix}forgeone.evt.policy.*`, `${prefix}forgeone.evt.token.*`);
  // The runner drops the plugin configuration it holds whenever a configuration event is published (it reads nothing from them).
  if (service === 'sandbox-runner') subscribe.push(`${prefix}forgeone.evt.plugin-config.*`);
  // The registry removes the artifact of a publish that was refused after it was stored (a filtered purge of that object).
  if (service === 'registry') publish.push(`$O.${names.artifactBucket}.>`, ...readStream(artifacts), `$JS.API.STREAM.PURGE.${artifacts}`);
  if (service === 'sandbox-runner') publish.push(...readStream(artifacts), `$KV.${names.pluginKvBucket}.>`, ...readStream(pluginKv));
  return {
    publish: [...new Set(publish)],
    publishDeny: service === 'registry' ? registryDeny(names) : STREAM_ADMINISTRATION,
    subscribe,
    // Every service answers at least its health subject.
    allowResponses: true,
    inboxPrefix: busInboxPrefix(names, { kind: 'service', service }),
  };
}

/**
 * The one table of who may do what on NATS, for the platform under `names`. nats-server
 * configuration for every way the platform runs is generated from it, so a subject that is not
 * here cannot be used by anybody but the operator:
 * - a service publishes only the event subjects of the aggregates it owns (EVENT_OWNERSHIP), the
 *   requests it sends, and the JetStream calls it needs to read the stream and its own buckets;
 * - only the service that answers a command subject (and `forgeone.authz.check`) may subscribe to it;
 * - replies go to per-principal inboxes (`inboxPrefix`) and are sent under `allow_responses`;
 * - automation clients may send `forgeone.cmd.*` and `forgeone.invoke.*` requests and read their
 *   replies: no event subjects, no `$JS`, `$KV` or `$O`;
 * - nobody but the operator may create, change, delete or purge a stream or bucket.
 */
export function busPermissions(names: Names, principal: BusPrincipal): BusPermissions {
  const prefix = names.namespace ? `${names.namespace}.` : '';
  switch (principal.kind) {
    case 'service':
      return servicePermissions(names, principal.service);
    case 'client':
      return {
        publish: [
          `${prefix}forgeone.cmd.registry.>`,
          `${prefix}forgeone.cmd.policy.>`,
          `${prefix}forgeone.cmd.signer.>`,
          `${prefix}forgeone.cmd.audit-projector.>`,
          `${prefix}forgeone.invoke.>`,
        ],
        publishDeny: STREAM_ADMINISTRATION,
        subscribe: [`${busInboxPrefix(names, principal)}.>`],
        allowResponses: false,
        inboxPrefix: busInboxPrefix(names, principal),
      };
    case 'operator':
      return { publish: ['>'], publishDeny: [], subscribe: ['>'], allowResponses: true, inboxPrefix: busInboxPrefix(names, principal) };
  }
}

/** Every service principal, in the platform's start order. */
export const SERVICE_PRINCIPALS: readonly BusPrincipal[] = SERVICES.map((service) => ({ kind: 'service', service }) as const);
