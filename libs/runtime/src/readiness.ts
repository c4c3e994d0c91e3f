import { setTimeout as sleep } from 'node:timers/promises';
import { busInboxPrefix, names, type ServiceName } from '@forgeone/contracts';
import { connect } from '@nats-io/transport-node';
import { natsConnectionOptions, natsCredentialOptions } from './nats-url.js';

/** What a service last said about itself on its health subject. */
export interface ServiceReadiness {
  readonly service: ServiceName;
  readonly ready: boolean;
  /** The service's own checks when it answered, else why it did not. */
  readonly checks?: Record<string, unknown>;
  readonly problem?: string;
}

export interface WaitForReadinessOptions {
  /** Abort the wait early (a service has exited); the reason becomes the error. */
  readonly signal?: AbortSignal;
  /** Pause between polling rounds (default 250 ms). */
  readonly intervalMs?: number;
  /** The credential to connect with (the operator's on a server the platform started). */
  readonly credential?: string;
  /** The CA of the servers' TLS certificates (FORGEONE_NATS_CA_FILE). */
  readonly caFile?: string;
  /** How many processes of a service must each answer ready (default 1; several sandbox-runners). */
  readonly instances?: Partial<Record<ServiceName, number>>;
}

/**
 * Polls `names(namespace).health(service)` until every service answers `{ ready: true }` (as many
 * times over as `options.instances` says it runs processes: each process answers the subject).
 * Rejects after `timeoutMs` with an error naming each service that is not ready and why.
 */
export async function waitForReadiness(
  natsUrl: string,
  namespace: string,
  serviceNames: readonly ServiceName[],
  timeoutMs: number,
  options: WaitForReadinessOptions = {},
): Promise<Map<ServiceName, ServiceReadiness>> {
  const subjects = names(namespace);
  const deadline = Date.now() + timeoutMs;
  const status = new Map<ServiceName, ServiceReadiness>(
    serviceNames.map((service) => [service, { service, ready: false, problem: 'not asked yet' }]),
  );
  if (options.signal?.aborted) throw abortError(options.signal);
  const nc = await connect({
    ...natsConnectionOptions(natsUrl, options.caFile ? { caFile: options.caFile } : {}),
    ...(options.credential ? { ...natsCredentialOptions(options.credential), inboxPrefix: busInboxPrefix(subjects, { kind: 'operator' }) } : {}),
    name: 'forgeone-readiness',
    timeout: 5_000,
  });
  try {
    for (;;) {
      const pending = serviceNames.filter((service) => !status.get(service)?.ready);
      await Promise.all(
        pending.map(async (service) => {
          const requestTimeout = Math.max(100, Math.min(1_000, deadline - Date.now()));
          const expected = options.instances?.[service] ?? 1;
          status.set(
            service,
            expected > 1
              ? await askHealthOfEach(service, expected, () => nc.requestMany(subjects.health(service), '', { strategy: 'count', maxMessages: expected, maxWait: requestTimeout }))
              : await askHealth(service, () => nc.request(subjects.health(service), '', { timeout: requestTimeout })),
          );
        }),
      );
      if (serviceNames.every((service) => status.get(service)?.ready)) return status;
      if (options.signal?.aborted) throw abortError(options.signal);
      if (Date.now() >= deadline) {
        const notReady = [...status.values()].filter((s) => !s.ready).map(describe);
        throw new Error(
          `Services not ready after ${timeoutMs} ms: ${notReady.join('; ')}. Check their log lines above; ` +
            `each must answer on ${subjects.health('registry').replace(/registry$/, '<service>')}.`,
        );
      }
      await sleep(options.intervalMs ?? 250, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {
        throw abortError(options.signal!);
      });
    }
  } finally {
    await nc.close();
  }
}

async function askHealth(service: ServiceName, request: () => Promise<{ string(): string }>): Promise<ServiceReadiness> {
  let text: string;
  try {
    text = (await request()).string();
  } catch (error) {
    // "no responders" just means the service has not subscribed yet.
    return { service, ready: false, problem: `no answer (${(error as Error).message})` };
  }
  try {
    const reply = JSON.parse(text) as { ready?: unknown; checks?: unknown };
    const checks = typeof reply.checks === 'object' && reply.checks !== null ? (reply.checks as Record<string, unknown>) : undefined;
    return { service, ready: reply.ready === true, ...(checks ? { checks } : {}), ...(reply.ready === true ? {} : { problem: 'reports not ready' }) };
  } catch {
    return { service, ready: false, problem: `answered something that is not JSON: ${text.slice(0, 80)}` };
  }
}

// A service run as several processes: every one must answer, and answer ready.
async function askHealthOfEach(service: ServiceName, expected: number, request: () => Promise<AsyncIterable<{ string(): string }>>): Promise<ServiceReadiness> {
  const replies: ServiceReadiness[] = [];
  try {
    for await (const reply of await request()) replies.push(await askHealth(service, async () => reply));
  } catch (error) {
    if (replies.length === 0) return { service, ready: false, problem: `no answer (${(error as Error).message})` };
  }
  const notReady = replies.find((reply) => !reply.ready);
  if (notReady) return notReady;
  if (replies.length < expected) return { service, ready: false, problem: `${replies.length} of its ${expected} processes answered ready` };
  return { service, ready: true };
}

function describe(status: ServiceReadiness): string {
  const failing = status.checks
    ? Object.entries(status.checks)
        .filter(([, check]) => !(check === true || (typeof check === 'object' && check !== null && (check as { ok?: unknown }).ok === true)))
        .map(([name, check]) => `${name}=${JSON.stringify(check)}`)
    : [];
  return `${status.service} ${status.problem ?? 'not ready'}${failing.length ? ` (${failing.join(', ')})` : ''}`;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('waiting for the services was aborted');
}
