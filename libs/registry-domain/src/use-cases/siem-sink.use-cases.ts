import {
  COMMAND_ERRORS,
  isSiemSinkEvent,
  refusalOf,
  SIEM_SINK_AGGREGATE,
  siemSinkAggregateId,
  siemSinkEndpoint,
  siemSinkTokenBinding,
  siemSinkViewOf,
  type AddSiemSinkRequest,
  type SiemSinkChangeReply,
  type SiemSinkDefinition,
  type SiemSinkListReply,
  type SiemSinkState,
} from '@forgeone/contracts';
import { handleCommand } from '@forgeone/event-sourcing';
import type { SiemSinkCommand } from '../siem-sink/siem-sink.commands.js';
import { siemSinkDecider } from '../siem-sink/siem-sink.decider.js';
import type { CommandContext, CommandMetadata, Principal, RegistryPorts } from './registry.ports.js';

/** Resolves a sink's host name to every address it has now (an IP literal resolves to itself). */
export interface HostResolver {
  resolve(host: string): Promise<readonly string[]>;
}

export interface SiemSinkPorts extends Pick<RegistryPorts, 'events' | 'authorizer' | 'configSecrets'> {
  readonly resolver: HostResolver;
  /** Blocks of the refused ranges the platform opened to tenant sinks (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE). */
  readonly allowedPrivate: readonly string[];
}

const refuse = { add: refusalOf(COMMAND_ERRORS.addSiemSink) };

/**
 * `siem sink add`: needs configure-siem on the caller's tenant. The host is resolved and every
 * address judged by the decider (REFUSED_ADDRESS_RANGES); a HEC token is sealed here, before
 * anything is appended, so the stream never holds it in clear.
 */
export async function addSiemSink(ports: SiemSinkPorts, request: AddSiemSinkRequest, context: CommandContext): Promise<SiemSinkChangeReply> {
  const principal = await authorize(ports, 'configure-siem', context);
  const endpoint = siemSinkEndpoint(request.kind, request.url);
  // The request schema already refused a bad URL; this keeps the types honest.
  if (typeof endpoint === 'string') throw refuse.add('COMMAND.INVALID', `url ${endpoint}`, { field: 'url' });
  const filter = { minSeverity: request.minSeverity ?? null, types: request.types ?? [] };
  let definition: SiemSinkDefinition;
  if (request.kind === 'hec') {
    if (!ports.configSecrets) {
      throw refuse.add(
        'PLUGIN_CONFIG.SECRETS_UNAVAILABLE',
        'this registry was started without the configuration key (FORGEONE_CONFIG_SECRET_KEY), so it cannot store a HEC token; start the platform with npm start, which makes the key',
      );
    }
    const token = ports.configSecrets.seal(request.token!, siemSinkTokenBinding(principal.tenant, request.name));
    definition = { name: request.name, kind: 'hec', url: request.url, ca: request.ca!, token, ...filter };
  } else {
    definition = { name: request.name, kind: 'syslog', url: request.url, ca: request.ca ?? null, ...filter };
  }
  const addresses = await ports.resolver.resolve(endpoint.host);
  return decideOnSink(ports, principal, context, request.name, { type: 'AddSiemSink', data: { definition, host: endpoint.host, addresses, allowedPrivate: ports.allowedPrivate } }, 'added');
}

/** `siem sink remove NAME`: needs configure-siem; the forwarder stops the sink when it reads the event. */
export async function removeSiemSink(ports: SiemSinkPorts, request: { readonly name: string }, context: CommandContext): Promise<SiemSinkChangeReply> {
  const principal = await authorize(ports, 'configure-siem', context);
  return decideOnSink(ports, principal, context, request.name, { type: 'RemoveSiemSink', data: { name: request.name } }, 'removed');
}

/** `siem sink list`: needs read-audit on the caller's tenant; a token is shown as set, never its value. */
export async function listSiemSinks(ports: Pick<SiemSinkPorts, 'events' | 'authorizer'>, context: CommandContext): Promise<SiemSinkListReply> {
  const principal = await authorize(ports, 'read-audit', context);
  const byName = new Map<string, SiemSinkState>();
  for (const { event } of await ports.events.readAggregate(SIEM_SINK_AGGREGATE)) {
    // The tenant attribute is the writer's (the registry's) record of whose sink this is.
    if (event.tenant !== principal.tenant || !isSiemSinkEvent(event)) continue;
    const name = event.data.name;
    byName.set(name, siemSinkDecider.evolve(byName.get(name) ?? siemSinkDecider.initialState(), event));
  }
  const sinks = [...byName.entries()]
    .filter(([, state]) => state.sink !== null)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, state]) => siemSinkViewOf(state.sink!.definition, state.sink!.addedBy, state.sink!.addedAt));
  return { sinks };
}

async function decideOnSink(ports: SiemSinkPorts, principal: Principal, context: CommandContext, name: string, command: SiemSinkCommand, done: 'added' | 'removed'): Promise<SiemSinkChangeReply> {
  const metadata: CommandMetadata = { actor: principal.id, tenant: principal.tenant, now: context.now, newId: context.newId };
  const outcome = await handleCommand(ports.events, siemSinkDecider, { aggregate: SIEM_SINK_AGGREGATE, id: siemSinkAggregateId(principal.tenant, name), subject: name }, command, metadata);
  const last = outcome.appended.at(-1);
  return { name, outcome: done, sequence: last?.sequence ?? outcome.version };
}

function authorize(ports: Pick<SiemSinkPorts, 'authorizer'>, action: 'configure-siem' | 'read-audit', context: CommandContext): Promise<Principal> {
  return ports.authorizer.authorizeEnvironment({ credential: context.credential, action, ...(context.source ? { source: context.source } : {}) });
}
