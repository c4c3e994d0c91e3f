import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';

/**
 * Connects a service to NATS as `name` (use `forgeone-<service>`), reconnecting forever:
 * a service outlives NATS restarts instead of exiting.
 */
export function connectNats(url: string, name: string, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()).filter(Boolean),
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...options,
  });
}
