import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { BusCommandRegistry } from './bus-command.registry.js';

const connection = () => ({}) as NatsConnection;

describe('BusCommandRegistry', () => {
  it('is one registry per connection', () => {
    const a = connection();
    const b = connection();
    expect(BusCommandRegistry.of(a)).toBe(BusCommandRegistry.of(a));
    expect(BusCommandRegistry.of(a)).not.toBe(BusCommandRegistry.of(b));
  });

  it('refuses a pattern twice', () => {
    const registry = BusCommandRegistry.of(connection());
    registry.register('registry.x', () => 1);
    expect(() => registry.register('registry.x', () => 2)).toThrow('command registry.x is already registered');
  });

  it('answers what was registered and refuses more once sealed', () => {
    const registry = BusCommandRegistry.of(connection());
    const handler = () => 1;
    registry.register('registry.x', handler);
    expect([...registry.seal()]).toEqual([['registry.x', handler]]);
    expect(() => registry.register('registry.y', () => 2)).toThrow('command registry.y was registered after the service started listening; register direct commands in onModuleInit');
  });
});
