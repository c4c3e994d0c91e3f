import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { RegistryModule } from './registry.module.js';

await runBusService({ service: 'registry', module: (context) => RegistryModule.forRoot(context) });
