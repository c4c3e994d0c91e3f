import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { EVENT_OWNERSHIP, HEADERS, type Names } from '@forgeone/contracts';
import { AuthorizationError, connect, createInbox, headers as natsHeaders, PermissionViolationError, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { natsConnectionOptions, natsTlsHint } from './nats-url.js';
import type { Logger } from './runtime.logger.js';

/** What an anonymous client may do on the platform's NATS. */
export interface NatsSecurityReport {
  /** The servers probed, without credentials. */
  readonly servers: readonly string[];
  /** False when the server refused a client without credentials outright. */
  readonly anonymousConnects: boolean;
  /** What an anonymous client may do that only the platform's services may; empty on a secure NATS. */
  readonly exposures: readonly string[];
}

export interface ProbeNatsOptions {
  /** How long to wait for the server's answers (default 3 s). */
  readonly timeoutMs?: number;
  /** The CA of the servers' TLS certificates (FORGEONE_NATS_CA_FILE): the probe connects as the platform does, minus credentials. */
  readonly caFile?: string;
}

/** An impossible last sequence: JetStream refuses the append, so the probe never writes to the stream. */
const IMPOSSIBLE_SEQUENCE = String(Number.MAX_SAFE_INTEGER);
const PROBE_ID = 'nats-security-probe';

type Outcome = { kind: 'denied' } | { kind: 'answered'; by: 'jetstream' | 'nobody' } | { kind: 'unanswered' };

/**
 * Connects to `natsUrl` stripped of its credentials, as anyone who can reach the server could,
 * and tries what only the platform's services may do: publish an event subject of every aggregate
 * (with `Nats-Expected-Last-Subject-Sequence` set impossibly high, so JetStream refuses the append
 * and the stream is not written), subscribe to command and authorisation subjects, and send
 * `$JS.API.STREAM.UPDATE.<stream>` with a body naming another stream (which the server must
 * refuse). A permissions violation proves a refusal; a JetStream answer proves the publish got
 * through; a publish with neither counts as allowed (fail closed).
 */
export async function probeAnonymousNatsAccess(natsUrl: string, names: Names, options: ProbeNatsOptions = {}): Promise<NatsSecurityReport> {
  // The URL's servers without its credentials: what anyone who can reach them could try.
  const { servers: listed, tls } = natsConnectionOptions(natsUrl, options.caFile ? { caFile: options.caFile } : {});
  const servers = [listed ?? []].flat();
  const timeoutMs = options.timeoutMs ?? 3_000;
  let nc: NatsConnection;
  try {
    nc = await connect({ servers, ...(tls ? { tls } : {}), name: 'forgeone-nats-security-probe', timeout: timeoutMs, reconnect: false, maxReconnectAttempts: 0 });
  } catch (error) {
    if (error instanceof AuthorizationError || (error as Error).name === 'AuthorizationError') return { servers, anonymousConnects: false, exposures: [] };
    throw new Error(`cannot probe NATS ${servers.join(',')} as a client without credentials: ${(error as Error).message}${natsTlsHint(error, options.caFile ? { caFile: options.caFile } : {})}`, { cause: error });
  }
  try {
    return { servers, anonymousConnects: true, exposures: await probeConnection(nc, names, timeoutMs) };
  } finally {
    await nc.close().catch(() => undefined);
  }
}

async function probeConnection(nc: NatsConnection, names: Names, timeoutMs: number): Promise<string[]> {
  const violations: PermissionViolationError[] = [];
  const status = nc.status();
  void (async () => {
    for await (const event of status) {
      if (event.type === 'error' && event.error instanceof PermissionViolationError) violations.push(event.error);
    }
  })();
  const denied = (operation: 'publish' | 'subscription', subject: string) => violations.some((v) => v.operation === operation && v.subject === subject);

  const prefix = names.subjectPrefix;
  const publishes = [
    ...Object.keys(EVENT_OWNERSHIP).map((aggregate) => {
      const h = natsHeaders();
      h.set(HEADERS.expectedLastSubjectSequence, IMPOSSIBLE_SEQUENCE);
      return { subject: names.eventSubject(aggregate, PROBE_ID), aggregate, body: '{}', headers: h, what: 'event' as const };
    }),
    { subject: `$JS.API.STREAM.UPDATE.${names.stream}`, aggregate: '', body: JSON.stringify({ name: `${names.stream}_${PROBE_ID.toUpperCase().replace(/-/g, '_')}` }), headers: undefined, what: 'stream-update' as const },
  ];
  const subscriptions = [`${prefix}forgeone.cmd.>`, `${prefix}forgeone.authz.check`];

  // Answers come back on one inbox, one reply subject per publish.
  const inbox = createInbox();
  const answers = new Map<number, Msg>();
  nc.subscribe(`${inbox}.>`, {
    callback: (error, msg) => {
      if (!error) answers.set(Number(msg.subject.slice(inbox.length + 1)), msg);
    },
  });
  for (const subject of subscriptions) nc.subscribe(subject, { callback: () => undefined });
  publishes.forEach((p, i) => nc.publish(p.subject, p.body, { reply: `${inbox}.${i}`, ...(p.headers ? { headers: p.headers } : {}) }));
  // The server reports a refused publish or subscription before it answers the flush's ping.
  await nc.flush();
  await nextTurn();
  const deadline = Date.now() + timeoutMs;
  const settled = () => publishes.every((p, i) => denied('publish', p.subject) || answers.has(i));
  while (!settled() && Date.now() < deadline) await sleep(10);

  const outcome = (i: number): Outcome => {
    if (denied('publish', publishes[i].subject)) return { kind: 'denied' };
    const answer = answers.get(i);
    if (!answer) return { kind: 'unanswered' };
    // 503 with no body: no stream (and no subscriber) in the anonymous client's account took it.
    return { kind: 'answered', by: answer.headers?.code === 503 && answer.data.length === 0 ? 'nobody' : 'jetstream' };
  };
  const exposures: string[] = [];
  const events = publishes.map((p, i) => ({ p, o: outcome(i) })).filter(({ p }) => p.what === 'event');
  const eventsStored = events.filter(({ o }) => o.kind === 'answered' && o.by === 'jetstream').map(({ p }) => p.aggregate);
  const eventsUnanswered = events.filter(({ o }) => o.kind === 'unanswered').map(({ p }) => p.aggregate);
  const eventSubjects = `${prefix}forgeone.evt.<aggregate>.>`;
  if (eventsStored.length > 0) exposures.push(`publish event subjects into stream ${names.stream} (JetStream answered on ${eventSubjects} for ${eventsStored.join(', ')})`);
  if (eventsUnanswered.length > 0) exposures.push(`publish event subjects (no permissions violation on ${eventSubjects} for ${eventsUnanswered.join(', ')})`);
  const update = outcome(publishes.length - 1);
  if (update.kind === 'answered' && update.by === 'jetstream') exposures.push(`change stream ${names.stream} through the JetStream API ($JS.API.STREAM.UPDATE.${names.stream} answered)`);
  if (update.kind === 'unanswered') exposures.push(`change stream ${names.stream} through the JetStream API (no permissions violation for $JS.API.STREAM.UPDATE.${names.stream})`);
  const readable = subscriptions.filter((subject) => !denied('subscription', subject));
  if (readable.length > 0) exposures.push(`subscribe to ${readable.join(' and ')}, reading the credentials and tokens they carry`);
  return exposures;
}

/** The platform would run on a NATS that anonymous clients may write to, and FORGEONE_NATS_INSECURE is not set. */
export class InsecureNatsError extends Error {
  override readonly name = 'InsecureNatsError';
  readonly code = 'NATS.INSECURE';
  constructor(readonly report: NatsSecurityReport) {
    super(
      `NATS ${report.servers.join(',')} is insecure: a client without credentials may ${report.exposures.join('; may ')}. ` +
        'Give NATS users with permissions (infra/nats/README.md) so only the platform\'s services can do this, ' +
        'or set FORGEONE_NATS_INSECURE=1 to run anyway, with API tokens and authorisation exposed to anyone who can reach that NATS',
    );
  }
}

/** The line logged at error level at every start in insecure mode. */
export function insecureNatsWarning(report: NatsSecurityReport): string {
  return (
    `FORGEONE_NATS_INSECURE=1: running on NATS ${report.servers.join(',')}, where a client without credentials may ${report.exposures.join('; may ')}. ` +
    'API tokens, service credentials and authorisation decisions are exposed to anyone who can reach that NATS'
  );
}

export interface RefuseInsecureNatsOptions {
  /** FORGEONE_NATS_INSECURE: start anyway, saying so at error level. */
  readonly insecure: boolean;
  readonly logger: Pick<Logger, 'info' | 'error'>;
  readonly timeoutMs?: number;
  /** See {@link ProbeNatsOptions.caFile}. */
  readonly caFile?: string;
}

/**
 * Probes `natsUrl` as an anonymous client ({@link probeAnonymousNatsAccess}) and throws an
 * {@link InsecureNatsError} naming what it may do, unless `insecure` is set: then it logs
 * {@link insecureNatsWarning} at error level and returns the report.
 */
export async function refuseInsecureNats(natsUrl: string, names: Names, options: RefuseInsecureNatsOptions): Promise<NatsSecurityReport> {
  const report = await probeAnonymousNatsAccess(natsUrl, names, {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.caFile ? { caFile: options.caFile } : {}),
  });
  if (report.exposures.length === 0) {
    options.logger.info(
      { servers: report.servers, anonymousConnects: report.anonymousConnects },
      report.anonymousConnects ? 'NATS refuses clients without credentials what only services may do' : 'NATS refuses clients without credentials',
    );
    return report;
  }
  if (!options.insecure) throw new InsecureNatsError(report);
  options.logger.error({ servers: report.servers, exposures: report.exposures }, insecureNatsWarning(report));
  return report;
}
