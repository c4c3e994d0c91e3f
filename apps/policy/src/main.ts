import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { PolicyModule } from './policy.module.js';

await runBusService({ service: 'policy', module: (context) => PolicyModule.forRoot(context) });
