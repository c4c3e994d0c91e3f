import {
  APPROVAL_AGGREGATE,
  approvalAggregateId,
  INVOCATION_AGGREGATE,
  INVOCATION_EVENT_TYPES,
  PLUGIN_AGGREGATE,
  PLUGIN_EVENT_TYPES,
  refusalOf,
  type ApprovalEvent,
  type ApprovalReply,
  type ApprovePluginRequest,
  type CloudEvent,
  type CommandErrorCode,
  type PluginEvent,
  type PromotePluginRequest,
  type PromotionReply,
  type RejectPluginRequest,
} from '@forgeone/contracts';
import { handleCommand, type EventStore } from '@forgeone/event-sourcing';
import type { ApprovalCommand } from '../approval/approval.commands.js';
import { approvalDecider, type ApprovalState } from '../approval/approval.decider.js';
import { pluginDecider } from '../plugin/plugin.decider.js';
import { pluginAggregateId, type PluginKey } from '../plugin/plugin.identity.js';
import { initialPluginState, type PluginState } from '../plugin/plugin.state.js';
import type { PromotionCallFacts } from '../promotion/promotion.gates.js';
import { authorizeCommand } from './authorize-command.js';
import { decideAndAppend } from './decide-and-append.js';
import { effectiveEnvironmentSettings } from './environment.use-cases.js';
import { DEFAULT_PROMOTION_SETTINGS, type CommandContext, type RegistryPorts } from './registry.ports.js';
import { pendingPluginConfigChanges } from './plugin-config.use-cases.js';
import { reviewStatusReader } from './review.use-cases.js';
import { tokenIssuers } from './token-issuers.js';

export type PromotionPorts = Pick<RegistryPorts, 'events' | 'authorizer' | 'signatures' | 'signaturePolicy' | 'promotion' | 'reviews'>;

const refuse = refusalOf<readonly (CommandErrorCode<'approve'> & CommandErrorCode<'reject'> & CommandErrorCode<'promote'>)[]>([]);

/**
 * `plugin approve NAME@VERSION --env ENV`: needs `approve` on the plugin in ENV, a gated environment. The
 * publisher of the version may not approve it; a flagged latest test run in the source must be accepted.
 */
export async function approvePlugin(ports: PromotionPorts, request: ApprovePluginRequest, context: CommandContext): Promise<ApprovalReply> {
  const { name, version, environment } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'approve', plugin: name, environment }, context);
  const { state } = await loadPlugin(ports.events, plugin);
  const published = requirePublished(state, name, version);
  const settings = await effectiveEnvironmentSettings(ports, plugin.tenant, environment);
  const run = settings.promotedFrom ? state.testRuns[settings.promotedFrom]?.[published.digest] : undefined;
  return decideOnApproval(ports.events, plugin, environment, 'approved', metadata, {
    type: 'ApproveVersion',
    data: {
      name,
      version,
      environment,
      digest: published.digest,
      actor: metadata.actor,
      publisher: published.publisher,
      gated: settings.gated,
      latestRun: run && settings.promotedFrom ? { runId: run.runId, environment: settings.promotedFrom, passed: run.passed, flagged: run.flagged } : null,
      acceptRegressions: request.acceptRegressions === true,
      ...(request.notes !== undefined ? { notes: request.notes } : {}),
    },
  });
}

/** `plugin reject NAME@VERSION --env ENV --notes TEXT`: needs `approve`; while the rejection stands, the version is not promoted there. */
export async function rejectPlugin(ports: PromotionPorts, request: RejectPluginRequest, context: CommandContext): Promise<ApprovalReply> {
  const { name, version, environment } = request;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'approve', plugin: name, environment }, context);
  const { state } = await loadPlugin(ports.events, plugin);
  const published = requirePublished(state, name, version);
  const settings = await effectiveEnvironmentSettings(ports, plugin.tenant, environment);
  return decideOnApproval(ports.events, plugin, environment, 'rejected', metadata, {
    type: 'RejectVersion',
    data: { name, version, environment, digest: published.digest, actor: metadata.actor, gated: settings.gated, notes: request.notes },
  });
}

/**
 * `plugin promote NAME@VERSION --from SRC --to DST [--dry-run]`: needs `promote` on the plugin in DST. Gathers
 * every fact the gates judge (DST's settings, the approvals, who issued the approvers' tokens, the calls of the
 * version in SRC, the signature in DST's mode, the review status), then decides on the plugin aggregate: one
 * refusal names every unmet gate; otherwise the version is installed or upgraded in DST with what it relied on.
 */
export async function promotePlugin(ports: PromotionPorts, request: PromotePluginRequest, context: CommandContext): Promise<PromotionReply> {
  const { name, version, from, to } = request;
  const dryRun = request.dryRun === true;
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: 'promote', plugin: name, environment: to }, context);
  const { state, stored } = await loadPlugin(ports.events, plugin);
  const published = requirePublished(state, name, version);
  const target = await effectiveEnvironmentSettings(ports, plugin.tenant, to);
  const sourceInstalledAt = installedSince(stored, from, published.digest);
  const settings = ports.promotion ?? DEFAULT_PROMOTION_SETTINGS;
  const signature = await ports.signatures.verify(
    {
      plugin,
      version,
      digest: published.digest,
      manifestDigest: published.manifestDigest,
      signature: published.signature,
      environment: to,
      stage: 'promote',
      mode: target.mode,
      threshold: target.threshold,
    },
    metadata,
    { record: !dryRun },
  );
  const approvals = (await loadApprovals(ports.events, plugin, to)).versions[version] ?? {};
  const reviews = ports.reviews ?? reviewStatusReader(ports, metadata.now);
  const { events, appended } = await decideAndAppend(
    ports.events,
    plugin,
    {
      type: 'PromotePlugin',
      data: {
        name,
        version,
        from,
        to,
        promoter: metadata.actor,
        now: metadata.now.toISOString(),
        target,
        sourceInstalledAt,
        signature: { ok: signature.ok, reason: signature.reason, message: signature.message },
        calls: sourceInstalledAt ? await callsSince(ports.events, plugin, from, version, sourceInstalledAt) : { total: 0, failed: 0 },
        approvals,
        tokenIssuers: await tokenIssuers(ports.events, Object.keys(approvals)),
        review: await reviews.reviewStatus(plugin, to),
        testRunMaxAgeSeconds: settings.testRunMaxAgeSeconds,
        maxFailureRate: settings.maxFailureRate,
      },
    },
    metadata,
    undefined,
    { dryRun },
  );
  const event = events[0] as Extract<PluginEvent, { type: typeof PLUGIN_EVENT_TYPES.installed | typeof PLUGIN_EVENT_TYPES.upgraded }>;
  return {
    name,
    version,
    environment: to,
    digest: event.data.digest,
    dryRun,
    promotion: event.data.promotion!,
    eventId: appended[0]?.eventId ?? null,
    sequence: appended[0]?.sequence ?? 0,
    pendingConfigChanges: await pendingPluginConfigChanges(ports.events, plugin.tenant, name, to),
  };
}

async function loadPlugin(events: EventStore, plugin: PluginKey): Promise<{ state: PluginState; stored: CloudEvent[] }> {
  const stored = (await events.read(PLUGIN_AGGREGATE, pluginAggregateId(plugin))).map((s) => s.event);
  const state = stored.reduce((s, e) => pluginDecider.evolve(s, e as unknown as PluginEvent), initialPluginState());
  return { state, stored };
}

async function loadApprovals(events: EventStore, plugin: PluginKey, environment: string): Promise<ApprovalState> {
  const { state } = await events.load<ApprovalState>(APPROVAL_AGGREGATE, approvalAggregateId(plugin.tenant, plugin.name, environment), {
    initialState: approvalDecider.initialState,
    // The stored envelope carries the approver (`actor`), the event id and the time the fold keeps.
    evolve: (s, event) => approvalDecider.evolve(s, event as unknown as ApprovalEvent),
  });
  return state;
}

function requirePublished(state: PluginState, name: string, version: string) {
  if (state.name === null) throw refuse('REGISTRY.PLUGIN_NOT_FOUND', `plugin ${name} has never been published; publish it first`, { name });
  const found = state.versions[version];
  if (!found) {
    throw refuse('REGISTRY.VERSION_NOT_FOUND', `${name}@${version} does not exist; published versions: ${Object.keys(state.versions).join(', ')}`, {
      name,
      version,
      publishedVersions: Object.keys(state.versions),
    });
  }
  return found;
}

async function decideOnApproval(
  events: EventStore,
  plugin: PluginKey,
  environment: string,
  decision: ApprovalReply['decision'],
  metadata: { actor: string; tenant: string; now: Date; newId: () => string },
  command: ApprovalCommand,
): Promise<ApprovalReply> {
  const outcome = await handleCommand(
    events,
    approvalDecider,
    { aggregate: APPROVAL_AGGREGATE, id: approvalAggregateId(plugin.tenant, plugin.name, environment), subject: `${plugin.name}@${environment}` },
    command,
    metadata,
  );
  const last = outcome.appended.at(-1);
  return {
    name: plugin.name,
    version: command.data.version,
    environment,
    decision,
    outcome: last ? 'recorded' : 'unchanged',
    eventId: last?.event.id ?? null,
    sequence: last?.sequence ?? outcome.version,
  };
}

// When the digest was last put into the environment (the envelope's time), if it is still there.
function installedSince(stored: readonly CloudEvent[], environment: string, digest: string): string | null {
  let current: { digest: string; time: string } | null = null;
  for (const event of stored) {
    const data = event.data as { environment?: string; digest?: string };
    if (data.environment !== environment) continue;
    if (event.type === PLUGIN_EVENT_TYPES.installed || event.type === PLUGIN_EVENT_TYPES.upgraded || event.type === PLUGIN_EVENT_TYPES.rolledBack) {
      current = { digest: data.digest!, time: event.time };
    } else if (event.type === PLUGIN_EVENT_TYPES.removed) {
      current = null;
    }
  }
  return current?.digest === digest ? current.time : null;
}

// Failures of the plugin itself; calls refused before it ran (not installed, denied, overloaded, input too large) say nothing about it.
const PLUGIN_FAULTS = new Set<string>([
  'SANDBOX.GUEST_ERROR',
  'SANDBOX.FUEL_EXHAUSTED',
  'SANDBOX.MEMORY_LIMIT',
  'SANDBOX.STACK_OVERFLOW',
  'SANDBOX.TIMEOUT',
  'SANDBOX.TRAP',
  'SANDBOX.OUT_OF_BOUNDS',
  'SANDBOX.OUTPUT_TOO_LARGE',
  'SANDBOX.CAPABILITY_DENIED',
  'SANDBOX.MODULE_REJECTED',
]);

/**
 * The calls of one version in one environment since `since`, from the sandbox-runner's records in the tenant's
 * invocation log (window summaries and, where the tenant records every call, single calls): only the runner may
 * write that log, and the store verifies each event's authorship as it reads it.
 */
async function callsSince(events: EventStore, plugin: PluginKey, environment: string, version: string, since: string): Promise<PromotionCallFacts> {
  const from = Date.parse(since);
  let total = 0;
  let failed = 0;
  for (const { event } of await events.read(INVOCATION_AGGREGATE, plugin.tenant)) {
    const data = event.data as { plugin: string; environment: string; version?: string };
    if (data.plugin !== plugin.name || data.environment !== environment || data.version !== version) continue;
    if (event.type === INVOCATION_EVENT_TYPES.invocationsRecorded) {
      const summary = event.data as { count: number; failures: Record<string, number>; window: { end: string } };
      if (Date.parse(summary.window.end) < from) continue;
      total += summary.count;
      for (const [code, count] of Object.entries(summary.failures)) if (PLUGIN_FAULTS.has(code)) failed += count;
    } else if (event.type === INVOCATION_EVENT_TYPES.invocationRecorded) {
      if (Date.parse(event.time) < from) continue;
      const call = event.data as { ok: boolean; code?: string };
      total += 1;
      if (!call.ok && call.code && PLUGIN_FAULTS.has(call.code)) failed += 1;
    }
  }
  return { total, failed };
}
