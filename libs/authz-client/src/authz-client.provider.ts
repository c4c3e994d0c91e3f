import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import type { Names } from '@forgeone/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Provider } from '@nestjs/common';
import { AuthzClient, createAuthzClient, type AuthzClientOptions } from './authz.client.js';
import { authzClientSettingsFromEnv } from './authz-client.settings.js';

export interface AuthzClientProviderOptions extends Partial<Omit<AuthzClientOptions, 'connection' | 'names' | 'serviceCredential'>> {
  readonly serviceCredential: () => string;
  /** Where FORGEONE_AUTHZ_TIMEOUT_MS and FORGEONE_AUTHZ_CACHE_TTL_MS are read (default process.env); explicit options win. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Nest provider of an {@link AuthzClient} (inject it by its class) over the module's bus
 * connection (BUS_CONNECTION, BUS_NAMES of `BusModule`). The client closes with the module.
 */
export function authzClientProvider(options: AuthzClientProviderOptions): Provider {
  const { env, ...rest } = options;
  const given = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  return {
    provide: AuthzClient,
    useFactory: (connection: NatsConnection, names: Names) => createAuthzClient({ ...authzClientSettingsFromEnv(env), ...given, serviceCredential: options.serviceCredential, connection, names }),
    inject: [BUS_CONNECTION, BUS_NAMES],
  };
}
