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
