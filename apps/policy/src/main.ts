import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { policyOptionsFromEnv } from './policy.options.js';
import { PolicyLifecycle, PolicyModule } from './policy.module.js';
import { PolicyState } from './policy.state.js';

await runBusService({
  service: 'policy',
  module: (context) => PolicyModule.forRoot(context, policyOptionsFromEnv(process.env, context.config.bootstrapToken)),
  readiness: async (app) => app.get(PolicyState).readiness(),
  beforeDisconnect: (app) => app.get(PolicyLifecycle).finishWrites(),
  writes: ['events'],
});
