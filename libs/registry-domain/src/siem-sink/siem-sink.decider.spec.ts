import { ForgeOneError, SIEM_SINK_EVENT_TYPES, type SiemSinkDefinition, type SiemSinkEvent } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import type { SiemSinkCommand } from './siem-sink.commands.js';
import { siemSinkDecider } from './siem-sink.decider.js';

const syslog: SiemSinkDefinition = { name: 'soc', kind: 'syslog', url: 'tcp://siem.example.com:514', ca: null, minSeverity: null, types: [] };
const add = (addresses: string[], allowedPrivate: string[] = [], definition = syslog): SiemSinkCommand => ({
  type: 'AddSiemSink',
  data: { definition, host: 'siem.example.com', addresses, allowedPrivate },
});
const added: SiemSinkEvent = { type: SIEM_SINK_EVENT_TYPES.added, data: syslog };
const removed: SiemSinkEvent = { type: SIEM_SINK_EVENT_TYPES.removed, data: { name: 'soc' } };

function given(events: SiemSinkEvent[]) {
  const state = events.reduce(siemSinkDecider.evolve, siemSinkDecider.initialState());
  return {
    when: (command: SiemSinkCommand) => ({
      then: (expected: SiemSinkEvent[]) => expect(siemSinkDecider.decide(command, state)).toEqual(expected),
      thenRefused: (code: string, message?: RegExp) => {
        let caught: unknown;
        try {
          siemSinkDecider.decide(command, state);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ForgeOneError);
        expect((caught as ForgeOneError).code).toBe(code);
        if (message) expect((caught as ForgeOneError).message).toMatch(message);
        return caught as ForgeOneError;
      },
    }),
  };
}

describe('siem sink decider', () => {
  it('adds a sink whose host resolves to public addresses only', () => {
    given([]).when(add(['93.184.216.34', '2606:2800:220:1::1'])).then([added]);
  });
  it('refuses a second sink of the same name', () => {
    given([added]).when(add(['93.184.216.34'])).thenRefused('SIEM.SINK_EXISTS', /already exists/);
  });
  it('adds again after a removal', () => {
    given([added, removed]).when(add(['93.184.216.34'])).then([added]);
  });
  it('refuses loopback, naming the address and the block', () => {
    const error = given([]).when(add(['127.0.0.1'])).thenRefused('SIEM.SINK_ADDRESS_REFUSED', /127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback/);
    expect(error.details).toMatchObject({ refused: [{ address: '127.0.0.1', range: '127.0.0.0/8' }] });
  });
  it('refuses the cloud metadata address', () => {
    given([]).when(add(['169.254.169.254'])).thenRefused('SIEM.SINK_ADDRESS_REFUSED', /169\.254\.169\.254 is in 169\.254\.0\.0\/16 \(link-local/);
  });
  it('refuses a name when any one of its addresses is private (fail closed)', () => {
    given([]).when(add(['93.184.216.34', '10.1.2.3'])).thenRefused('SIEM.SINK_ADDRESS_REFUSED', /10\.1\.2\.3 is in 10\.0\.0\.0\/8/);
  });
  it('refuses an IPv4-mapped IPv6 loopback', () => {
    given([]).when(add(['::ffff:127.0.0.1'])).thenRefused('SIEM.SINK_ADDRESS_REFUSED');
  });
  it('admits a private address inside a block the platform opened, and only that block', () => {
    given([]).when(add(['10.0.5.7'], ['10.0.5.0/24'])).then([added]);
    given([]).when(add(['10.0.6.7'], ['10.0.5.0/24'])).thenRefused('SIEM.SINK_ADDRESS_REFUSED');
    given([]).when(add(['169.254.169.254'], ['10.0.5.0/24'])).thenRefused('SIEM.SINK_ADDRESS_REFUSED');
  });
  it('refuses a name that resolved to nothing', () => {
    given([]).when(add([])).thenRefused('SIEM.SINK_UNRESOLVABLE');
  });
  it('removes a sink', () => {
    given([added]).when({ type: 'RemoveSiemSink', data: { name: 'soc' } }).then([removed]);
  });
  it('refuses to remove a sink that does not exist', () => {
    given([added, removed]).when({ type: 'RemoveSiemSink', data: { name: 'soc' } }).thenRefused('SIEM.SINK_NOT_FOUND', /siem sink list/);
  });
});
