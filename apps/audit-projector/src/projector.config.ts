/** Name of the projector's checkpoint row and of its durable consumer (before the namespace prefix). */
export const PROJECTOR_NAME = 'audit-projector';

/**
 * `FORGEONE_PROJECTOR_ID` names a second, independent projector (its own durable consumer and
 * checkpoint), e.g. to rebuild every projection from sequence 1 into an empty database.
 */
export function projectorName(env: NodeJS.ProcessEnv = process.env): string {
  const id = env.FORGEONE_PROJECTOR_ID?.trim();
  if (!id) return PROJECTOR_NAME;
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(id)) {
    throw new Error(`FORGEONE_PROJECTOR_ID "${id}" is invalid: use up to 31 lowercase letters, digits or '-'`);
  }
  return `${PROJECTOR_NAME}-${id}`;
}
