import 'reflect-metadata';
import { runBusService } from '@forgeone/service-host';
import { createLogger } from '@forgeone/telemetry';
import { sandboxRunnerOptionsFromEnv, type SandboxRunnerOptions } from './sandbox-runner.config.js';
import { SandboxRunner, sandboxRunnerConsumer, SandboxRunnerModule } from './sandbox-runner.module.js';

// Without its service credential every invocation would be refused: refuse to start instead.
let options: SandboxRunnerOptions | undefined;
try {
  options = sandboxRunnerOptionsFromEnv(process.env);
} catch (error) {
  createLogger('sandbox-runner').fatal(`cannot start sandbox-runner: ${(error as Error).message}`);
  process.exitCode = 1;
}

if (options) {
  const runner = options;
  await runBusService({
    service: 'sandbox-runner',
    module: (context) => SandboxRunnerModule.forRoot(context, runner),
    consumer: (names) => sandboxRunnerConsumer(names, runner),
    writes: ['events', 'plugin-kv'],
    // Each of several runners answers the health subject: its identity tells the replies apart.
    readiness: async () => ({ runner: { ok: true, detail: runner.runnerId } }),
    // The open call window is written while the connection still carries appends.
    beforeDisconnect: (app) => app.get(SandboxRunner).calls.flush(),
  });
}
