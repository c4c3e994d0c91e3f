// The ESM registration hook every service starts with: `node --import @forgeone/telemetry/register main.js`.
// It must run before the service's own modules load: ES modules (such as `node:http` as the
// services import it) can only be patched through a loader hook that saw them being imported.
// Only the modules the instrumentations name are wrapped (the hook's `include` list is filled as
// they register), so the rest of the service loads as it would without the hook.
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { enableModuleInstrumentations } from './module-instrumentations.js';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions);
enableModuleInstrumentations();
await waitForAllMessagesAcknowledged();
