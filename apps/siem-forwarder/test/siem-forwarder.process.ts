import { randomBytes } from 'node:crypto';
import { spawnService, TEST_NATS_URL, type ServiceProcess, type TestEventWriters } from '@forgeone/test-harness';

/** Starts the built siem-forwarder on the test NATS and `databaseUrl` with `env`'s sinks; it reads with `writers`' pinned keys. */
export function spawnSiemForwarder(options: { readonly namespace: string; readonly databaseUrl: string; readonly writers: TestEventWriters; readonly env: Record<string, string> }): ServiceProcess {
  return spawnService('siem-forwarder', {
    NATS_URL: TEST_NATS_URL,
    FORGEONE_NAMESPACE: options.namespace,
    DATABASE_URL: options.databaseUrl,
    FORGEONE_SERVICE_KEY: randomBytes(32).toString('hex'),
    FORGEONE_SIEM_RETRY_MIN_MS: '100',
    FORGEONE_SIEM_RETRY_MAX_MS: '1000',
    ...options.writers.env('siem-forwarder'),
    ...options.env,
  });
}
