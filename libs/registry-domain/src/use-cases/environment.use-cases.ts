import {
  defaultEnvironmentNames,
  defaultEnvironmentSettings,
  ENVIRONMENT_AGGREGATE,
  environmentView,
  evolveEnvironment,
  initialEnvironmentState,
  isEnvironmentEvent,
  tenantAggregateId,
  type CloudEvent,
  ENVIRONMENT_EVENT_TYPES,
  type EnvironmentChangeReply,
  type EnvironmentEvent,
  type EnvironmentSettings,
  type EnvironmentState,
  type EnvironmentView,
  type SetEnvironmentRequest,
} from '@forgeone/contracts';
import { handleCommand, type EventStore } from '@forgeone/event-sourcing';
import type { EnvironmentCommand } from '../environment/environment.commands.js';
import { environmentDecider } from '../environment/environment.decider.js';
import type { CommandContext, Principal, RegistryPorts } from './registry.ports.js';

export type EnvironmentPorts = Pick<RegistryPorts, 'events' | 'authorizer' | 'signaturePolicy'>;

/** Folds one environment's stored envelopes (which carry actor and time) into its state. */
export function foldEnvironment(events: readonly CloudEvent[], state: EnvironmentState = initialEnvironmentState()): EnvironmentState {
  let out = state;
  for (const event of events) if (isEnvironmentEvent(event)) out = evolveEnvironment(out, event as unknown as Parameters<typeof evolveEnvironment>[1]);
  return out;
}

/** One environment of a tenant as its events leave it. */
export async function loadEnvironment(events: EventStore, tenant: string, environment: string): Promise<EnvironmentState> {
  const stored = await events.read(ENVIRONMENT_AGGREGATE, tenantAggregateId(tenant, environment));
  return foldEnvironment(stored.map((s) => s.event));
}

/**
 * The settings an environment of a tenant holds now: its own once set through the platform, else
 * the first-start defaults (FORGEONE_SIGNATURE_POLICY for mode and threshold). Read fresh for every
 * command that enforces them, so a change applies to the next install.
 */
export async function effectiveEnvironmentSettings(ports: Pick<RegistryPorts, 'events' | 'signaturePolicy'>, tenant: string, environment: string): Promise<EnvironmentSettings> {
  const state = await loadEnvironment(ports.events, tenant, environment);
  return state.settings ?? defaultEnvironmentSettings(environment, ports.signaturePolicy);
}

/** `env show NAME`: needs read-environment. */
export async function showEnvironment(ports: EnvironmentPorts, request: { readonly environment: string }, context: CommandContext): Promise<EnvironmentView> {
  const principal = await authorize(ports, 'read-environment', request.environment, context);
  const state = await loadEnvironment(ports.events, principal.tenant, request.environment);
  return environmentView(request.environment, state, defaultEnvironmentSettings(request.environment, ports.signaturePolicy));
}

/** `env list`: the defaults of a fresh platform and every environment the tenant has set, by name. */
export async function listEnvironments(ports: EnvironmentPorts, context: CommandContext): Promise<{ environments: EnvironmentView[] }> {
  const principal = await authorize(ports, 'read-environment', undefined, context);
  const byName = new Map<string, CloudEvent[]>();
  for (const { event } of await ports.events.readAggregate(ENVIRONMENT_AGGREGATE)) {
    // The tenant attribute is the writer's (the registry's) record of whose environment this is.
    if (event.tenant !== principal.tenant || !isEnvironmentEvent(event)) continue;
    const name = (event.data as { environment: string }).environment;
    byName.set(name, [...(byName.get(name) ?? []), event]);
  }
  for (const name of defaultEnvironmentNames(ports.signaturePolicy)) if (!byName.has(name)) byName.set(name, []);
  const environments = [...byName.keys()]
    .sort()
    .map((name) => environmentView(name, foldEnvironment(byName.get(name)!), defaultEnvironmentSettings(name, ports.signaturePolicy)));
  return { environments };
}

/**
 * `env set NAME ...`: needs configure-environment. Strengthening (and any change of an ungated
 * environment) applies at once; weakening a gated one is recorded as proposed.
 */
export async function setEnvironment(ports: EnvironmentPorts, request: SetEnvironmentRequest, context: CommandContext): Promise<EnvironmentChangeReply> {
  const principal = await authorize(ports, 'configure-environment', request.environment, context);
  const defaults = defaultEnvironmentSettings(request.environment, ports.signaturePolicy);
  return decideOnEnvironment(ports, principal, context, request.environment, {
    type: 'ChangeEnvironmentSettings',
    data: { change: request, defaults, actor: principal.id, proposalId: context.newId() },
  });
}

/** `env confirm NAME`: needs configure-environment, and to be another administrator than the proposer. */
export async function confirmEnvironment(ports: EnvironmentPorts, request: { readonly environment: string }, context: CommandContext): Promise<EnvironmentChangeReply> {
  const principal = await authorize(ports, 'configure-environment', request.environment, context);
  return decideOnEnvironment(ports, principal, context, request.environment, { type: 'ConfirmEnvironmentWeakening', data: { environment: request.environment, actor: principal.id } });
}

async function decideOnEnvironment(ports: EnvironmentPorts, principal: Principal, context: CommandContext, environment: string, command: EnvironmentCommand): Promise<EnvironmentChangeReply> {
  const outcome = await handleCommand(
    ports.events,
    environmentDecider,
    { aggregate: ENVIRONMENT_AGGREGATE, id: tenantAggregateId(principal.tenant, environment), subject: environment },
    command,
    { actor: principal.id, tenant: principal.tenant, now: context.now, newId: context.newId },
  );
  // Folded from the stored envelopes, so the view names who changed it and when.
  const state = foldEnvironment(
    outcome.appended.map((a) => a.event),
    outcome.state,
  );
  const defaults = defaultEnvironmentSettings(environment, ports.signaturePolicy);
  const last = outcome.appended.at(-1);
  return { outcome: outcomeOf(outcome.events), environment: environmentView(environment, state, defaults), sequence: last?.sequence ?? outcome.version };
}

function outcomeOf(events: readonly EnvironmentEvent[]): EnvironmentChangeReply['outcome'] {
  switch (events[0]?.type) {
    case undefined:
      return 'unchanged';
    case ENVIRONMENT_EVENT_TYPES.weakeningProposed:
      return 'proposed';
    case ENVIRONMENT_EVENT_TYPES.weakeningConfirmed:
      return 'confirmed';
    default:
      return 'applied';
  }
}

function authorize(ports: EnvironmentPorts, action: 'read-environment' | 'configure-environment', environment: string | undefined, context: CommandContext): Promise<Principal> {
  return ports.authorizer.authorizeEnvironment({
    credential: context.credential,
    action,
    // Listing asks about the tenant's environments as a whole (the Tenant resource).
    ...(environment !== undefined ? { environment } : {}),
    ...(context.source ? { source: context.source } : {}),
  });
}
