import { readOwnServiceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv } from '@forgeone/authz-client';
import type { AuditProjectorOptions } from './audit-projector.module.js';

/** Name of the projector's checkpoint row and of its durable consumer (before the namespace prefix). */
export const PROJECTOR_NAME = 'audit-projector';

/**
 * `FORGEONE_PROJECTOR_ID` names a second, independent projector (its own durable consumer and
 * checkpoint), e.g. one that keeps a copy of the projections in another database.
 */
export function projectorName(env: NodeJS.ProcessEnv = process.env): string {
  const id = env.FORGEONE_PROJECTOR_ID?.trim();
  if (!id) return PROJECTOR_NAME;
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(id)) {
    throw new Error(`FORGEONE_PROJECTOR_ID "${id}" is invalid: use up to 31 lowercase letters, digits or '-'`);
  }
  return `${PROJECTOR_NAME}-${id}`;
}

/** When and as what the audit-projector signs checkpoints of the audit log. */
export interface CheckpointOptions {
  /** Sign after this many events (other than checkpoints) were projected. */
  readonly everyEvents: number;
  /** Sign at least this often when events (other than checkpoints) were added. */
  readonly intervalMs: number;
  /** The checkpoint's origin line and its signature's key name. */
  readonly origin: string;
}

/**
 * FORGEONE_AUDIT_CHECKPOINT_EVENTS (default 1000), FORGEONE_AUDIT_CHECKPOINT_INTERVAL_MS (default
 * 60000) and FORGEONE_AUDIT_ORIGIN (default `forgeone.local/audit`, plus `/<namespace>` with one).
 */
export function checkpointOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CheckpointOptions {
  const namespace = env.FORGEONE_NAMESPACE?.trim();
  const origin = env.FORGEONE_AUDIT_ORIGIN?.trim() || `forgeone.local/audit${namespace ? `/${namespace}` : ''}`;
  // The origin is also the note's key name: no white space and no '+' (C2SP signed-note).
  if (!/^[^\s+]{1,256}$/u.test(origin)) throw new Error(`FORGEONE_AUDIT_ORIGIN "${origin}" is invalid: use up to 256 characters without spaces or '+', such as example.com/audit`);
  return {
    everyEvents: wholeNumber(env, 'FORGEONE_AUDIT_CHECKPOINT_EVENTS', 1000, 1, 1_000_000),
    intervalMs: wholeNumber(env, 'FORGEONE_AUDIT_CHECKPOINT_INTERVAL_MS', 60_000, 1, 86_400_000),
    origin,
  };
}

/**
 * The projector's settings: its database, its name, and what it needs to ask policy whether a caller
 * may rebuild the projections (its service credential, the authorisation client's settings).
 */
export function auditProjectorOptions(env: NodeJS.ProcessEnv = process.env): AuditProjectorOptions {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: the audit projector writes its projections to PostgreSQL');
  const credential = readOwnServiceCredential('audit-projector', env);
  return { databaseUrl, projector: projectorName(env), serviceCredential: () => credential, authz: authzClientSettingsFromEnv(env) };
}

/** How many events the projector applies per transaction, and how long a batch waits to fill. */
export interface ProjectorBatching {
  readonly maxMessages: number;
  readonly maxWaitMs: number;
}

/**
 * FORGEONE_PROJECTOR_BATCH_EVENTS (default 256, at most 10000) and FORGEONE_PROJECTOR_BATCH_WAIT_MS
 * (default 5, at most 1000: every event may wait this long before it is applied).
 */
export function projectorBatchingFromEnv(env: NodeJS.ProcessEnv = process.env): ProjectorBatching {
  return {
    maxMessages: wholeNumber(env, 'FORGEONE_PROJECTOR_BATCH_EVENTS', 256, 1, 10_000),
    maxWaitMs: wholeNumber(env, 'FORGEONE_PROJECTOR_BATCH_WAIT_MS', 5, 0, 1_000),
  };
}

/** The whole number in variable `name`, `fallback` when unset or blank; throws naming it when out of [min, max]. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${name} "${raw}" is invalid: use a whole number from ${min} to ${max}`);
  return value;
}
