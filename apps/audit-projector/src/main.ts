import 'reflect-metadata';
import { checkpoint, runMigrations } from '@forgeone/persistence';
import { runBusService } from '@forgeone/service-host';
import { DataSource } from 'typeorm';
import { AuditProjectorModule } from './audit-projector.module.js';
import { auditProjectorOptions } from './projector.config.js';

let options;
try {
  options = auditProjectorOptions();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const { projector } = options;

await runBusService({
  service: 'audit-projector',
  module: (context) => AuditProjectorModule.forRoot(context, options),
  // One event in flight at a time: projections are written in stream order. The checkpoint in
  // PostgreSQL is the source of truth, so the durable resumes right after it on every start.
  consumer: (names, app) => ({
    durable: names.consumer(projector),
    maxAckPending: 1,
    ackWaitMs: 30_000,
    resumeFrom: async () => (await checkpoint(app().get(DataSource), projector)).lastSequence + 1,
  }),
  beforeListen: async (app, { logger }) => {
    const ran = await runMigrations(app.get(DataSource));
    if (ran.length) logger.info({ migrations: ran }, 'migrations applied');
  },
  readiness: async (app) => {
    try {
      await app.get(DataSource).query('select 1');
      return { database: { ok: true } };
    } catch (error) {
      return { database: { ok: false, detail: (error as Error).message } };
    }
  },
});
