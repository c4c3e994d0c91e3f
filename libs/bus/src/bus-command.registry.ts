import type { NatsConnection } from '@nats-io/transport-node';
import type { BusContext } from './bus.context.js';

/** A command handler the transport calls itself, without Nest's pipeline. */
export type DirectCommandHandler = (data: unknown, ctx: BusContext) => unknown;

/**
 * Commands answered without Nest's handler pipeline (guards, interceptors, pipes, exception
 * filters and the RxJS round trip), for hot paths that validate their own input and throw
 * ForgeOneErrors. They keep everything the transport gives a `@MessagePattern` handler: the
 * subject and queue group, the server span, body parsing, error replies with their code and the
 * `traceparent` of the reply.
 *
 * There is one registry per NATS connection: BusModule provides the one of its connection and the
 * ForgeOneBusServer on that connection answers its commands. Register in `onModuleInit`, before
 * the service listens; a pattern may be either direct or a `@MessagePattern`, not both.
 */
export class BusCommandRegistry {
  private static readonly byConnection = new WeakMap<NatsConnection, BusCommandRegistry>();
  private readonly handlers = new Map<string, DirectCommandHandler>();
  private sealed = false;

  /** The registry of the commands answered on `connection`. */
  static of(connection: NatsConnection): BusCommandRegistry {
    let registry = BusCommandRegistry.byConnection.get(connection);
    if (registry === undefined) {
      registry = new BusCommandRegistry();
      BusCommandRegistry.byConnection.set(connection, registry);
    }
    return registry;
  }

  register(pattern: string, handler: DirectCommandHandler): void {
    if (this.sealed) throw new Error(`command ${pattern} was registered after the service started listening; register direct commands in onModuleInit`);
    if (this.handlers.has(pattern)) throw new Error(`command ${pattern} is already registered`);
    this.handlers.set(pattern, handler);
  }

  /** The registered commands; no more can be added afterwards (the transport calls this as it starts). */
  seal(): ReadonlyMap<string, DirectCommandHandler> {
    this.sealed = true;
    return this.handlers;
  }
}
