import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { createLogger } from '@forgeone/telemetry';
import { registryOptionsFromEnv, type RegistryOptions } from './registry.config.js';
import { RegistryModule } from './registry.module.js';

// Without its service credential every command would be refused: refuse to start instead.
let options: RegistryOptions | undefined;
try {
  options = registryOptionsFromEnv(process.env);
} catch (error) {
  createLogger('registry').fatal(`cannot start registry: ${(error as Error).message}`);
  process.exitCode = 1;
}

if (options) {
  const registry = options;
  await runBusService({ service: 'registry', module: (context) => RegistryModule.forRoot(context, registry), writes: ['events', 'artifacts'] });
}
