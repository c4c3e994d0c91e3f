import 'reflect-metadata';
import { checkpoint, databaseReadiness, migrateAtStart } from '@forgeone/persistence';
import { runBusService } from '@forgeone/service-host';
import { signingKeyProviderFromEnv } from '@forgeone/signing';
import { DataSource } from 'typeorm';
import { AuditProjectorModule, type CheckpointSigning } from './audit-projector.module.js';
import { auditProjectorOptions, checkpointOptionsFromEnv, PROJECTOR_NAME, projectorBatchingFromEnv, type ProjectorBatching } from './projector.config.js';

let options;
try {
  options = auditProjectorOptions();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const { projector } = options;
let batching: ProjectorBatching;
try {
  batching = projectorBatchingFromEnv(process.env);
} catch (error) {
  console.error(`cannot start audit-projector: ${(error as Error).message}`);
  process.exit(1);
}

// The projector of record signs the audit log's checkpoints and refuses to run without its key: an
// audit log nobody can verify from outside is what the checkpoints exist to prevent. A second
// projector (FORGEONE_PROJECTOR_ID) signs nothing.
let signing: CheckpointSigning | undefined;
if (projector === PROJECTOR_NAME) {
  try {
    const key = await signingKeyProviderFromEnv(process.env, 'FORGEONE_AUDIT_KEY');
    if (!key) throw new Error('no audit key: set FORGEONE_AUDIT_KEY_FILE (a PEM file) or FORGEONE_AUDIT_KEY (`npm start` makes one in <dataDir>/secrets/audit-key.pem)');
    signing = { key, options: checkpointOptionsFromEnv(process.env) };
  } catch (error) {
    console.error(`cannot start audit-projector: ${(error as Error).message}`);
    process.exit(1);
  }
}

await runBusService({
  service: 'audit-projector',
  module: (context) => AuditProjectorModule.forRoot(context, options, signing),
  // Batches of consecutive events, one transaction each, in stream order: the batch consumer never
  // nak's, so nothing overtakes a failed batch; twice a batch in flight lets the next one arrive
  // while one is applied. The checkpoint in PostgreSQL is the source of truth, so the durable
  // resumes right after it on every start.
  consumer: (names, app) => ({
    durable: names.consumer(projector),
    maxAckPending: 2 * batching.maxMessages,
    batch: batching,
    ackWaitMs: 30_000,
    resumeFrom: async () => (await checkpoint(app().get(DataSource), projector)).lastSequence + 1,
  }),
  beforeListen: async (app, { logger }) => {
    await migrateAtStart(app.get(DataSource), logger);
  },
  readiness: (app) => databaseReadiness(app.get(DataSource)),
});
