import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { SandboxRunnerModule } from './sandbox-runner.module.js';

await runBusService({ service: 'sandbox-runner', module: (context) => SandboxRunnerModule.forRoot(context) });
