import 'reflect-metadata';
import { checkpoint, runMigrations } from '@forgeone/persistence';
import { runBusService } from '@forgeone/service-host';
import { jetstreamManager } from '@nats-io/jetstream';
import { DataSource } from 'typeorm';
import { AuditProjectorModule } from './audit-projector.module.js';
import { projectorName } from './projector.config.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set: the audit projector writes its projections to PostgreSQL');
  process.exit(1);
}
const projector = projectorName();

await runBusService({
  service: 'audit-projector',
  module: (context) => AuditProjectorModule.forRoot(context, databaseUrl, projector),
  // One event in flight at a time: projections are written in stream order.
  consumer: (names) => ({ durable: names.consumer(projector), maxAckPending: 1, ackWaitMs: 60_000 }),
  beforeListen: async (app, { connection, names, logger }) => {
    const dataSource = app.get(DataSource);
    const ran = await runMigrations(dataSource);
    if (ran.length) logger.info({ migrations: ran }, 'migrations applied');
    // The database is the source of truth for progress: a consumer that acknowledged more than
    // the checkpoint holds (a restored or replaced database) is recreated and replays from 1.
    const { lastSequence } = await checkpoint(dataSource, projector);
    const jsm = await jetstreamManager(connection);
    const info = await jsm.consumers.info(names.stream, names.consumer(projector)).catch(() => undefined);
    if (info && info.ack_floor.stream_seq > lastSequence) {
      logger.warn({ ackFloor: info.ack_floor.stream_seq, checkpoint: lastSequence }, 'consumer is ahead of the database; replaying from the start');
      await jsm.consumers.delete(names.stream, names.consumer(projector));
    }
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
