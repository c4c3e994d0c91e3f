import { randomBytes } from 'node:crypto';
import { spawnService, TEST_NATS_URL, type ServiceProcess } from '@forgeone/test-harness';

/**
 * Starts the built audit-projector on the test NATS and `databaseUrl`, as the event writer whose
 * variables `writerEnv` holds. It gets a service key of its own, from which its service credential
 * is derived (it asks policy whether a caller may rebuild). `env` adds or overrides variables.
 */
export function spawnAuditProjector(options: {
  readonly namespace: string;
  readonly databaseUrl: string;
  readonly writerEnv: Record<string, string>;
  readonly env?: Record<string, string>;
}): ServiceProcess {
  return spawnService('audit-projector', {
    NATS_URL: TEST_NATS_URL,
    FORGEONE_NAMESPACE: options.namespace,
    DATABASE_URL: options.databaseUrl,
    FORGEONE_SERVICE_KEY: randomBytes(32).toString('hex'),
    ...options.writerEnv,
    ...options.env,
  });
}
