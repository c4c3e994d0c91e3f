// The events a plugin call is recorded by: a per-call record, a failure, and each limit or hook refusal.
import { INVOCATION_EVENT_TYPES } from '@forgeone/contracts';
import type { NewEvent } from '@forgeone/event-sourcing';
import type { CallSample, SandboxCallResult } from '@forgeone/sandbox';
import type { CallChain } from './plugin-host.hooks.js';

const MAX_MESSAGE = 2048;

/** Who called what: the facts every invocation event carries. */
export interface CallFacts {
  readonly tenant: string;
  readonly principal: string;
  readonly environment: string;
  readonly name: string;
  readonly handler: string;
  readonly version?: string;
  readonly digest?: string;
}

export function invocationEvent(id: string, type: string, who: CallFacts, extra: Record<string, unknown>): NewEvent {
  const { tenant, principal, environment, name, handler, version, digest } = who;
  return {
    id,
    type,
    time: new Date().toISOString(),
    actor: principal,
    tenant,
    subject: name,
    data: { plugin: name, handler, environment, tenant, principal, ...(version ? { version } : {}), ...(digest ? { digest } : {}), ...extra },
  };
}

/** A call that failed, its message cut to a size an event may carry. */
export function invocationFailedEvent(id: string, who: CallFacts, extra: { readonly code: string; readonly message: string; readonly durationMs?: number }): NewEvent {
  return invocationEvent(`${id}:failed`, INVOCATION_EVENT_TYPES.invocationFailed, who, { ...extra, message: truncate(extra.message) });
}

// One call as its own record, for tenants or environments set to per-call recording.
export function callRecordedEvent(id: string, facts: CallFacts, sample: CallSample, runner: string): NewEvent {
  return invocationEvent(`${id}:recorded`, INVOCATION_EVENT_TYPES.invocationRecorded, facts, {
    ok: sample.code === undefined,
    ...(sample.code !== undefined ? { code: sample.code } : {}),
    ...(sample.durationMs !== undefined ? { durationMs: sample.durationMs } : {}),
    ...(sample.fuelUsed !== undefined ? { fuelUsed: sample.fuelUsed } : {}),
    bytesIn: sample.bytesIn,
    bytesOut: sample.bytesOut,
    runner,
  });
}

/** A call that ran: its failure and every limit or hook refusal, and the call itself when recorded per call. */
export function outcomeEvents(id: string, facts: CallFacts, result: SandboxCallResult, chain: CallChain, runner: string, perCall?: CallSample): NewEvent[] {
  const events: NewEvent[] = [];
  if (perCall !== undefined) events.push(callRecordedEvent(id, facts, perCall, runner));
  if (!result.ok) events.push(invocationFailedEvent(id, facts, { code: result.error.code, message: result.error.message, durationMs: result.durationMs }));
  violationsOf(result, chain).forEach((v, i) => events.push(invocationEvent(`${id}:violation:${i}`, INVOCATION_EVENT_TYPES.sandboxViolation, facts, v)));
  return events;
}

function violationsOf(result: SandboxCallResult, chain: CallChain): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const hookDenials = [...chain.denials];
  if (!result.ok && result.violation !== undefined) {
    const hook = result.violation === 'capability' ? hookDenials.shift()?.hook : undefined;
    out.push({ limit: result.violation, code: result.error.code, message: truncate(result.error.message), ...(hook ? { hook } : {}) });
  }
  for (const d of hookDenials) out.push({ limit: 'capability', code: d.code, message: truncate(d.message), hook: d.hook });
  return out;
}

function truncate(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}
