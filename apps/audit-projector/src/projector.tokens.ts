export const PROJECTOR_NAME_TOKEN = Symbol.for('forgeone.audit-projector.name');
/** The checkpoint signer, or null for a projector that signs no checkpoints (a rebuild). */
export const CHECKPOINT_SIGNER_TOKEN = Symbol.for('forgeone.audit-projector.checkpoint-signer');
/** The audit key (signs checkpoints and evidence manifests), or null for a second projector. */
export const AUDIT_KEY_TOKEN = Symbol.for('forgeone.audit-projector.audit-key');
