// The ESM registration hook every service starts with: `node --import @forgeone/telemetry/register main.js`.
// It must run before the service's own modules load: ES modules (such as `node:http` as the
// services import it) can only be patched through a loader hook that saw them being imported.
// Only the modules the instrumentations name are wrapped (the hook's `include` list is filled as
// they register), so the rest of the service loads as it would without the hook.
// With the hook on, every module load makes a round trip to the hooks thread (about a second of CPU
// per service start): only a process whose spans go somewhere (an OTLP endpoint or exporter is set)
// turns it on; without one, pg and http spans would be made for nobody.
import { register } from 'node:module';
import { spansExported } from './span-export.js';

if (spansExported(process.env)) {
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { enableModuleInstrumentations } = await import('./module-instrumentations.js');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions);
  enableModuleInstrumentations();
  await waitForAllMessagesAcknowledged();
}
