import 'reflect-metadata';
import { readOwnServiceCredential } from '@forgeone/authz';
import { authzClientSettingsFromEnv } from '@forgeone/authz-client';
import { databaseReadiness, migrateAtStart } from '@forgeone/persistence';
import { runBusService } from '@forgeone/service-host';
import { siemConfigFromEnv } from '@forgeone/siem';
import { configSecretKeyFromEnv } from '@forgeone/signing';
import { DataSource } from 'typeorm';
import { SiemForwarder } from './siem-forwarder.js';
import { SiemForwarderModule, type SiemForwarderOptions } from './siem-forwarder.module.js';

// Every setting is checked before anything connects; the error names the variable.
let options: SiemForwarderOptions;
try {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: the SIEM forwarder keeps its sinks\' checkpoints in PostgreSQL');
  const credential = readOwnServiceCredential('siem-forwarder', process.env);
  options = {
    databaseUrl,
    siem: siemConfigFromEnv(process.env),
    serviceCredential: () => credential,
    authz: authzClientSettingsFromEnv(process.env),
    configSecretKey: configSecretKeyFromEnv(process.env),
  };
} catch (error) {
  console.error(`cannot start siem-forwarder: ${(error as Error).message}`);
  process.exit(1);
}

await runBusService({
  service: 'siem-forwarder',
  module: (context) => SiemForwarderModule.forRoot(context, options),
  // No durable consumer of the bus: each sink reads the stream on its own from its checkpoint, so a
  // sink that is down holds back nothing but itself.
  beforeListen: async (app, { logger }) => {
    await migrateAtStart(app.get(DataSource), logger);
    await app.get(SiemForwarder).start();
  },
  beforeDisconnect: async (app) => {
    await app.get(SiemForwarder).stop();
  },
  readiness: (app) => databaseReadiness(app.get(DataSource)),
});
