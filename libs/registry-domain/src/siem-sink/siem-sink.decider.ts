import {
  COMMAND_ERRORS,
  describeRefusedSinkAddresses,
  evolveSiemSink,
  ForgeOneError,
  initialSiemSinkState,
  refusalOf,
  refusedSinkAddresses,
  SIEM_SINK_EVENT_TYPES,
  type SiemSinkEvent,
  type SiemSinkState,
} from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import type { SiemSinkCommand } from './siem-sink.commands.js';

const refuse = { add: refusalOf(COMMAND_ERRORS.addSiemSink), remove: refusalOf(COMMAND_ERRORS.removeSiemSink) };

/** decide(command, state) → events for one SIEM sink of a tenant. */
function decide(command: SiemSinkCommand, state: SiemSinkState): SiemSinkEvent[] {
  switch (command.type) {
    case 'AddSiemSink': {
      const { definition, host, addresses, allowedPrivate } = command.data;
      if (state.sink) {
        throw refuse.add('SIEM.SINK_EXISTS', `a SIEM sink named ${definition.name} already exists; remove it first (forgeone siem sink remove ${definition.name}) or choose another name`, {
          name: definition.name,
        });
      }
      // Fail closed: a name that resolved to nothing is refused, and one refused address refuses the sink.
      if (addresses.length === 0) {
        throw refuse.add('SIEM.SINK_UNRESOLVABLE', `${host} resolves to no address; give a host name that resolves, or an IP address`, { name: definition.name, host });
      }
      const refused = refusedSinkAddresses(addresses, allowedPrivate);
      if (refused.length > 0) {
        throw refuse.add(
          'SIEM.SINK_ADDRESS_REFUSED',
          `a tenant SIEM sink may not send to a loopback, private, link-local or metadata address: ${describeRefusedSinkAddresses(host, refused)}; only the platform administrator can open such a block (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE)`,
          { name: definition.name, host, refused: refused.map(({ address, range }) => ({ address, range: range.cidr })) },
        );
      }
      return [{ type: SIEM_SINK_EVENT_TYPES.added, data: definition }];
    }
    case 'RemoveSiemSink': {
      const { name } = command.data;
      if (!state.sink) throw refuse.remove('SIEM.SINK_NOT_FOUND', `your tenant has no SIEM sink named ${name}; see forgeone siem sink list`, { name });
      return [{ type: SIEM_SINK_EVENT_TYPES.removed, data: { name } }];
    }
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown SIEM sink command ${(unknown as { type: string }).type}`);
    }
  }
}

/** The siem-sink aggregate (`<tenant>:<name>`) as the shared command handler takes it. */
export const siemSinkDecider: Decider<SiemSinkCommand, SiemSinkEvent, SiemSinkState> = {
  decide,
  evolve: evolveSiemSink,
  initialState: initialSiemSinkState,
};
