import {
  COMMAND_ERRORS,
  DEFAULT_REVIEW_SETTINGS,
  PLUGIN_AGGREGATE,
  PLUGIN_EVENT_TYPES,
  REVIEW_AGGREGATE,
  REVIEW_EVENT_TYPES,
  REVIEW_NOTICE_AGGREGATE,
  REVIEW_NOTICE_EVENT_TYPES,
  refusalOf,
  reviewAggregateId,
  tenantAggregateId,
  type CloudEvent,
  type RecordIncidentRequest,
  type RecordRegulationRequest,
  type RecordReviewRequest,
  type ReviewListReply,
  type ReviewNoticeReply,
  type ReviewOutcome,
  type ReviewRecordReply,
  type ReviewSettings,
  type ReviewShowReply,
  type ReviewStatusView,
} from '@forgeone/contracts';
import { handleCommand } from '@forgeone/event-sourcing';
import { reviewNoticeDecider } from '../review-notice/review-notice.decider.js';
import type { ReviewNoticeCommand } from '../review-notice/review-notice.commands.js';
import { reviewDecider } from '../review/review.decider.js';
import { reviewStatus, type ReviewFact, type ReviewTrigger } from '../review/review.status.js';
import { effectiveEnvironmentSettings } from './environment.use-cases.js';
import type { CommandContext, Principal, RegistryPorts, ReviewStatusReader } from './registry.ports.js';

/** What reviews need: the event stream, the authorizer, environment defaults and the review settings. */
export type ReviewPorts = Pick<RegistryPorts, 'events' | 'authorizer' | 'signaturePolicy' | 'reviewSettings'>;

/** One plugin's installation in one environment, as review status reads it. */
interface InstalledFacts {
  readonly version: string;
  readonly installedAt: string;
  readonly emergencies: ReviewTrigger[];
}

/** What the plugin stream says of a plugin for reviews. */
interface PluginFacts {
  readonly published: boolean;
  readonly publishers: Readonly<Record<string, string>>;
  readonly installations: Readonly<Record<string, InstalledFacts>>;
}

/** Folds a plugin's stored events (actor and time on the envelope) into what reviews need of it. */
export function pluginReviewFacts(events: readonly CloudEvent[]): PluginFacts {
  const publishers: Record<string, string> = {};
  const installations: Record<string, InstalledFacts> = {};
  for (const event of events) {
    const data = event.data as { version: string; environment: string; publisher: string; emergency?: { reason: string } };
    const emergency = (): ReviewTrigger[] => (data.emergency ? [{ kind: 'emergency', at: event.time, text: `${data.version}: ${data.emergency.reason}`, by: event.actor }] : []);
    switch (event.type) {
      case PLUGIN_EVENT_TYPES.versionPublished:
        publishers[data.version] = data.publisher;
        break;
      case PLUGIN_EVENT_TYPES.installed:
        installations[data.environment] = { version: data.version, installedAt: event.time, emergencies: emergency() };
        break;
      case PLUGIN_EVENT_TYPES.upgraded:
      case PLUGIN_EVENT_TYPES.rolledBack: {
        const current = installations[data.environment];
        if (current) installations[data.environment] = { ...current, version: data.version, emergencies: [...current.emergencies, ...emergency()] };
        break;
      }
      case PLUGIN_EVENT_TYPES.removed:
        delete installations[data.environment];
        break;
      default:
        break;
    }
  }
  return { published: Object.keys(publishers).length > 0, publishers, installations };
}

/** The reviews of a plugin from its `review` aggregate's stored events. */
export function reviewFacts(events: readonly CloudEvent[]): ReviewFact[] {
  return events
    .filter((e) => e.type === REVIEW_EVENT_TYPES.recorded)
    .map((e) => {
      const data = e.data as { outcome: ReviewOutcome; notes: string };
      return { at: e.time, outcome: data.outcome, notes: data.notes, by: e.actor };
    });
}

/** The incidents and regulation changes of a tenant that make `name` due at once: major incidents and regulation changes naming it or all. */
export function noticeTriggers(events: readonly CloudEvent[], name: string): ReviewTrigger[] {
  const triggers: ReviewTrigger[] = [];
  for (const event of events) {
    const data = event.data as { severity?: string; summary: string; all: boolean; plugins: string[] };
    if (!data.all && !data.plugins.includes(name)) continue;
    if (event.type === REVIEW_NOTICE_EVENT_TYPES.incidentRecorded && data.severity === 'major') triggers.push({ kind: 'incident', at: event.time, text: data.summary, by: event.actor });
    if (event.type === REVIEW_NOTICE_EVENT_TYPES.regulationRecorded) triggers.push({ kind: 'regulation', at: event.time, text: data.summary, by: event.actor });
  }
  return triggers;
}

function settingsOf(ports: Pick<RegistryPorts, 'reviewSettings'>): ReviewSettings {
  return ports.reviewSettings ?? DEFAULT_REVIEW_SETTINGS;
}

/** Whether reviews apply in `environment` of `tenant`: the configured list, else every environment gated now. */
async function reviewsApplyIn(ports: Pick<ReviewPorts, 'events' | 'signaturePolicy' | 'reviewSettings'>, tenant: string, environment: string): Promise<boolean> {
  const { environments } = settingsOf(ports);
  if (environments !== null) return environments.includes(environment);
  return (await effectiveEnvironmentSettings(ports, tenant, environment)).gated;
}

function lastReviewOf(reviews: readonly ReviewFact[]): ReviewShowReply['lastReview'] {
  const last = reviews.at(-1);
  return last ? { outcome: last.outcome, notes: last.notes, by: last.by, at: last.at } : null;
}

/** Review status of one plugin in every environment where reviews apply and it is installed. */
async function statusesOf(
  ports: Pick<ReviewPorts, 'reviewSettings'>,
  name: string,
  plugin: PluginFacts,
  reviews: readonly ReviewFact[],
  notices: readonly CloudEvent[],
  now: Date,
  applies: (environment: string) => Promise<boolean>,
): Promise<ReviewStatusView[]> {
  const settings = settingsOf(ports);
  const out: ReviewStatusView[] = [];
  const triggers = noticeTriggers(notices, name);
  for (const [environment, installed] of Object.entries(plugin.installations).sort(([a], [b]) => a.localeCompare(b))) {
    if (!(await applies(environment))) continue;
    const status = reviewStatus({ installedAt: installed.installedAt, reviews, triggers: [...triggers, ...installed.emergencies] }, now, settings);
    out.push({ name, environment, version: installed.version, ...status, installedAt: installed.installedAt, lastReview: lastReviewOf(reviews) });
  }
  return out;
}

/** What the promotion gate and the upgrade path ask: is this plugin's review overdue in this environment, and why. */
export interface PluginReviewStatus {
  readonly status: ReviewStatusView['status'];
  readonly overdue: boolean;
  readonly dueAt: string;
  readonly reasons: readonly string[];
}

/**
 * Reads where a plugin's review stands from the plugin, review and review-notice streams (the
 * registry's own events). Answers null when the plugin is not installed in the environment or reviews
 * do not apply there.
 */
export class EventStoreReviewStatusReader {
  constructor(private readonly ports: Pick<ReviewPorts, 'events' | 'signaturePolicy' | 'reviewSettings'>) {}

  async reviewStatus(tenant: string, plugin: string, environment: string, now: Date = new Date()): Promise<PluginReviewStatus | null> {
    const [pluginEvents, reviewEvents, noticeEvents] = await Promise.all([
      this.ports.events.read(PLUGIN_AGGREGATE, tenantAggregateId(tenant, plugin)),
      this.ports.events.read(REVIEW_AGGREGATE, reviewAggregateId(tenant, plugin)),
      this.ports.events.read(REVIEW_NOTICE_AGGREGATE, tenant),
    ]);
    const facts = pluginReviewFacts(pluginEvents.map((s) => s.event));
    if (!facts.installations[environment]) return null;
    const statuses = await statusesOf(
      this.ports,
      plugin,
      { ...facts, installations: { [environment]: facts.installations[environment] } },
      reviewFacts(reviewEvents.map((s) => s.event)),
      noticeEvents.map((s) => s.event),
      now,
      (env) => reviewsApplyIn(this.ports, tenant, env),
    );
    const status = statuses[0];
    return status ? { status: status.status, overdue: status.status === 'overdue', dueAt: status.dueAt, reasons: status.reasons } : null;
  }
}

/** The promotion gate's view of reviews: a review is required while the plugin's review in the target environment is overdue. */
export function reviewStatusReader(ports: Pick<ReviewPorts, 'events' | 'signaturePolicy' | 'reviewSettings'>, now: Date): ReviewStatusReader {
  const reader = new EventStoreReviewStatusReader(ports);
  return {
    async reviewStatus(plugin, environment) {
      const status = await reader.reviewStatus(plugin.tenant, plugin.name, environment, now);
      return status?.overdue ? { required: true, reason: `its review in ${environment} is overdue (${status.reasons.join('; ')})` } : { required: false, reason: null };
    },
  };
}

const refuseUpgrade = refusalOf(COMMAND_ERRORS.upgrade);

/**
 * The upgrade of a plugin whose review is overdue in a gated environment waits for an approved review
 * (FORGEONE_REVIEW_BLOCKS_UPGRADE, default on). Emergency upgrades go through here too.
 */
export async function assertReviewedBeforeUpgrade(
  ports: Pick<ReviewPorts, 'events' | 'signaturePolicy' | 'reviewSettings'>,
  tenant: string,
  plugin: string,
  environment: string,
  now: Date,
): Promise<void> {
  if (!settingsOf(ports).blocksUpgrade) return;
  if (!(await effectiveEnvironmentSettings(ports, tenant, environment)).gated) return;
  const status = await new EventStoreReviewStatusReader(ports).reviewStatus(tenant, plugin, environment, now);
  if (!status?.overdue) return;
  throw refuseUpgrade(
    'REVIEW.REQUIRED',
    `the review of ${plugin} in ${environment} is overdue (${status.reasons.join('; ')}); record an approved review first: forgeone plugin review ${plugin} --outcome approved --notes TEXT`,
    { name: plugin, environment, dueAt: status.dueAt, reasons: [...status.reasons] },
  );
}

/** `plugin review NAME --outcome ... --notes ...`: needs review on the plugin; its publisher of an installed version may not. */
export async function recordReview(ports: ReviewPorts, request: RecordReviewRequest, context: CommandContext): Promise<ReviewRecordReply> {
  const principal = await ports.authorizer.authorize({ credential: context.credential, action: 'review', plugin: request.name, ...(context.source ? { source: context.source } : {}) });
  const pluginEvents = await ports.events.read(PLUGIN_AGGREGATE, tenantAggregateId(principal.tenant, request.name));
  const facts = pluginReviewFacts(pluginEvents.map((s) => s.event));
  const publishersOfInstalled: string[] = [];
  for (const [environment, installed] of Object.entries(facts.installations)) {
    const publisher = facts.publishers[installed.version];
    if (publisher && (await reviewsApplyIn(ports, principal.tenant, environment))) publishersOfInstalled.push(publisher);
  }
  const reviewId = context.newId();
  const outcome = await handleCommand(
    ports.events,
    reviewDecider,
    { aggregate: REVIEW_AGGREGATE, id: reviewAggregateId(principal.tenant, request.name), subject: request.name },
    { type: 'RecordReview', data: { reviewId, name: request.name, outcome: request.outcome, notes: request.notes, actor: principal.id, published: facts.published, publishersOfInstalled } },
    metadataOf(principal, context),
  );
  const appended = outcome.appended[0];
  return { reviewId, name: request.name, outcome: request.outcome, eventId: appended.event.id, sequence: appended.sequence };
}

/** `incident record`: needs record-incident on the tenant. */
export async function recordIncident(ports: ReviewPorts, request: RecordIncidentRequest, context: CommandContext): Promise<ReviewNoticeReply> {
  const principal = await authorizeTenant(ports, 'record-incident', context);
  const scope = await scopeOf(ports, principal.tenant, request);
  const id = context.newId();
  const reply = await decideNotice(ports, principal, context, { type: 'RecordIncident', data: { incidentId: id, severity: request.severity, summary: request.summary, ...scope } });
  return { kind: 'incident', id, severity: request.severity, all: scope.all, plugins: [...scope.plugins], forcesReview: request.severity === 'major' && (scope.all || scope.plugins.length > 0), ...reply };
}

/** `regulation record`: needs record-regulation on the tenant. */
export async function recordRegulation(ports: ReviewPorts, request: RecordRegulationRequest, context: CommandContext): Promise<ReviewNoticeReply> {
  const principal = await authorizeTenant(ports, 'record-regulation', context);
  const scope = await scopeOf(ports, principal.tenant, request);
  const id = context.newId();
  const reply = await decideNotice(ports, principal, context, { type: 'RecordRegulation', data: { regulationId: id, summary: request.summary, ...scope } });
  return { kind: 'regulation', id, severity: null, all: scope.all, plugins: [...scope.plugins], forcesReview: scope.all || scope.plugins.length > 0, ...reply };
}

/** `review list [--overdue]`: the tenant's plugins due or overdue for review (needs read on the tenant). */
export async function listReviews(ports: ReviewPorts, request: { readonly overdue?: boolean | undefined }, context: CommandContext): Promise<ReviewListReply> {
  const principal = await authorizeTenant(ports, 'read', context);
  const tenant = principal.tenant;
  const [pluginEvents, reviewEvents, noticeEvents] = await Promise.all([
    ports.events.readAggregate(PLUGIN_AGGREGATE),
    ports.events.readAggregate(REVIEW_AGGREGATE),
    ports.events.read(REVIEW_NOTICE_AGGREGATE, tenant),
  ]);
  const byPlugin = groupByName(pluginEvents.map((s) => s.event), tenant);
  const reviewsByPlugin = groupByName(reviewEvents.map((s) => s.event), tenant);
  const notices = noticeEvents.map((s) => s.event);
  const applies = memo((environment: string) => reviewsApplyIn(ports, tenant, environment));
  const plugins: ReviewStatusView[] = [];
  for (const name of [...byPlugin.keys()].sort()) {
    const statuses = await statusesOf(ports, name, pluginReviewFacts(byPlugin.get(name)!), reviewFacts(reviewsByPlugin.get(name) ?? []), notices, context.now, applies);
    plugins.push(...statuses.filter((s) => (request.overdue ? s.status === 'overdue' : s.status !== 'ok')));
  }
  const settings = settingsOf(ports);
  return { intervalSeconds: settings.intervalMs / 1000, graceSeconds: settings.graceMs / 1000, plugins };
}

/** One plugin's review status in every environment where reviews apply (needs read on the plugin): what `plugin show` prints. */
export async function showReview(ports: ReviewPorts, request: { readonly name: string }, context: CommandContext): Promise<ReviewShowReply> {
  const principal = await ports.authorizer.authorize({ credential: context.credential, action: 'read', plugin: request.name, ...(context.source ? { source: context.source } : {}) });
  const tenant = principal.tenant;
  const [pluginEvents, reviewEvents, noticeEvents] = await Promise.all([
    ports.events.read(PLUGIN_AGGREGATE, tenantAggregateId(tenant, request.name)),
    ports.events.read(REVIEW_AGGREGATE, reviewAggregateId(tenant, request.name)),
    ports.events.read(REVIEW_NOTICE_AGGREGATE, tenant),
  ]);
  const facts = pluginReviewFacts(pluginEvents.map((s) => s.event));
  if (!facts.published) {
    throw refusalOf(COMMAND_ERRORS.showReview)('REGISTRY.PLUGIN_NOT_FOUND', `plugin ${request.name} was never published in your tenant`, { name: request.name });
  }
  const reviews = reviewFacts(reviewEvents.map((s) => s.event));
  const environments = await statusesOf(ports, request.name, facts, reviews, noticeEvents.map((s) => s.event), context.now, (env) => reviewsApplyIn(ports, tenant, env));
  return { name: request.name, environments, lastReview: lastReviewOf(reviews) };
}

async function scopeOf(ports: ReviewPorts, tenant: string, request: { readonly all?: boolean | undefined; readonly plugins?: readonly string[] | undefined }) {
  const plugins = [...new Set(request.plugins ?? [])];
  const unknownPlugins: string[] = [];
  for (const name of plugins) {
    const events = await ports.events.read(PLUGIN_AGGREGATE, tenantAggregateId(tenant, name));
    if (!pluginReviewFacts(events.map((s) => s.event)).published) unknownPlugins.push(name);
  }
  return { all: request.all === true, plugins, unknownPlugins };
}

async function decideNotice(ports: ReviewPorts, principal: Principal, context: CommandContext, command: ReviewNoticeCommand): Promise<{ eventId: string; sequence: number }> {
  const outcome = await handleCommand(
    ports.events,
    reviewNoticeDecider,
    { aggregate: REVIEW_NOTICE_AGGREGATE, id: principal.tenant, subject: principal.tenant },
    command,
    metadataOf(principal, context),
  );
  const appended = outcome.appended[0];
  return { eventId: appended.event.id, sequence: appended.sequence };
}

function authorizeTenant(ports: ReviewPorts, action: 'record-incident' | 'record-regulation' | 'read', context: CommandContext): Promise<Principal> {
  return ports.authorizer.authorizeEnvironment({ credential: context.credential, action, ...(context.source ? { source: context.source } : {}) });
}

function metadataOf(principal: Principal, context: CommandContext) {
  return { actor: principal.id, tenant: principal.tenant, now: context.now, newId: context.newId };
}

// The tenant attribute is the writer's (the registry's) record of whose event this is.
function groupByName(events: readonly CloudEvent[], tenant: string): Map<string, CloudEvent[]> {
  const out = new Map<string, CloudEvent[]>();
  for (const event of events) {
    if (event.tenant !== tenant) continue;
    const name = (event.data as { name?: unknown }).name;
    if (typeof name !== 'string') continue;
    out.set(name, [...(out.get(name) ?? []), event]);
  }
  return out;
}

function memo(f: (key: string) => Promise<boolean>): (key: string) => Promise<boolean> {
  const cache = new Map<string, Promise<boolean>>();
  return (key) => {
    let hit = cache.get(key);
    if (!hit) cache.set(key, (hit = f(key)));
    return hit;
  };
}
