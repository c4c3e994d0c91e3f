import { auditCheckpointDecider } from '@forgeone/audit-domain';
import { PLATFORM_TENANT, servicePrincipalId } from '@forgeone/authz';
import { AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_EVENT_TYPES, AUDIT_CHECKPOINT_ID, type AuditCheckpointSigned, type CloudEvent } from '@forgeone/contracts';
import { handleCommand, type EventStore } from '@forgeone/event-sourcing';
import { auditLeavesBesides, auditTreeRoot, auditTreeSize } from '@forgeone/persistence';
import { checkpointText, keyIdOf, signNote, type SigningKeyProvider } from '@forgeone/signing';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { CheckpointOptions } from './projector.config.js';

const fold = {
  initialState: auditCheckpointDecider.initialState,
  evolve: (state: ReturnType<typeof auditCheckpointDecider.initialState>, event: CloudEvent) =>
    auditCheckpointDecider.evolve(state, event as unknown as Parameters<typeof auditCheckpointDecider.evolve>[1]),
};

/**
 * Signs checkpoints of the audit log's Merkle tree with the audit key: after `everyEvents`
 * projected events or every `intervalMs`, and only when rows other than checkpoints were added
 * since the last one. The checkpoint is an event on the one append path, so its own audit row is
 * a leaf like any other, covered by the next checkpoint.
 */
export class AuditCheckpointSigner {
  private sinceLast = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: EventStore,
    private readonly key: SigningKeyProvider,
    private readonly options: CheckpointOptions,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.timer = setInterval(() => this.trigger(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.again = false;
    await this.running;
  }

  /** Called after each projected event; checkpoints do not count. */
  noteProjected(type: string): void {
    if (type === AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned) return;
    this.sinceLast += 1;
    if (this.sinceLast >= this.options.everyEvents) this.trigger();
  }

  private trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.signIfDue()
      .then((signed) => {
        if (signed) this.logger.info({ treeSize: signed.treeSize, rootHash: signed.rootHash }, 'audit log checkpoint signed');
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not sign an audit log checkpoint; trying again at the next trigger'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** Signs and appends a checkpoint when one is due; answers it, or undefined when nothing new was there to sign. */
  async signIfDue(): Promise<AuditCheckpointSigned | undefined> {
    const { state } = await this.store.load(AUDIT_CHECKPOINT_AGGREGATE, AUDIT_CHECKPOINT_ID, fold);
    const treeSize = await auditTreeSize(this.dataSource.manager);
    if (treeSize <= state.treeSize) return undefined;
    const newLeaves = await auditLeavesBesides(this.dataSource.manager, state.treeSize, AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned);
    if (newLeaves === 0) return undefined;
    this.sinceLast = 0;
    const rootHash = await auditTreeRoot(this.dataSource.manager, treeSize);
    const publicKey = await this.key.publicKey();
    const now = this.now();
    const signedAt = now.toISOString();
    const text = checkpointText({ origin: this.options.origin, treeSize, rootHash: Buffer.from(rootHash, 'hex'), extensions: [`time ${signedAt}`] });
    const note = await signNote(text, this.options.origin, publicKey, (message) => this.key.sign(message));
    const publicKeyDer = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const data: AuditCheckpointSigned = { origin: this.options.origin, treeSize, rootHash, keyId: keyIdOf(publicKey), publicKey: publicKeyDer, note, signedAt };
    const outcome = await handleCommand(
      this.store,
      auditCheckpointDecider,
      { aggregate: AUDIT_CHECKPOINT_AGGREGATE, id: AUDIT_CHECKPOINT_ID },
      { type: 'RecordAuditCheckpoint', data, newLeaves },
      { actor: servicePrincipalId('audit-projector'), tenant: PLATFORM_TENANT, now, newId: randomUUID },
    );
    return outcome.appended.length > 0 ? data : undefined;
  }
}
