export const PROJECTOR_NAME_TOKEN = Symbol.for('forgeone.audit-projector.name');
