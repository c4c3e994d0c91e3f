import { COMMAND_ERRORS, ForgeOneError, PLUGIN_EVENT_TYPES, refusalOf, type CommandErrorCode, type PluginEvent } from '@forgeone/contracts';
import type { Decider } from '@forgeone/event-sourcing';
import semver from 'semver';
import { evaluatePromotionGates } from '../promotion/promotion.gates.js';
import type { GateFacts, InstallPlugin, PluginCommand, PromotePlugin, PublishPluginVersion, RecordTestRun, RemovePlugin, RollbackPlugin, UpgradePlugin } from './plugin.commands.js';
import { initialPluginState, type PluginState } from './plugin.state.js';
import { baselineTestRun, requireTestedInstallation, testRunRegressions, testRunTotals } from './test-run.regression.js';


// Each refusal is held to the catalogue of the command(s) that reach it (COMMAND_ERRORS), so a code
// no command declares cannot be raised. Shared checks take the codes common to their commands.
const refuse = {
  publish: refusalOf(COMMAND_ERRORS.publish),
  install: refusalOf(COMMAND_ERRORS.install),
  upgrade: refusalOf(COMMAND_ERRORS.upgrade),
  rollback: refusalOf(COMMAND_ERRORS.rollback),
  promote: refusalOf(COMMAND_ERRORS.promote),
  installOrUpgrade: refusalOf<readonly (CommandErrorCode<'install'> & CommandErrorCode<'upgrade'>)[]>([]),
  needsVersion: refusalOf<readonly (CommandErrorCode<'install'> & CommandErrorCode<'upgrade'> & CommandErrorCode<'rollback'>)[]>([]),
  needsInstallation: refusalOf<readonly (CommandErrorCode<'upgrade'> & CommandErrorCode<'rollback'> & CommandErrorCode<'remove'>)[]>([]),
};
/** decide(command, state) → events; throws a ForgeOneError when the command is refused. */
export function decide(command: PluginCommand, state: PluginState): PluginEvent[] {
  switch (command.type) {
    case 'PublishPluginVersion':
      return publish(command, state);
    case 'InstallPlugin':
      return install(command, state);
    case 'UpgradePlugin':
      return upgrade(command, state);
    case 'RollbackPlugin':
      return rollback(command, state);
    case 'RemovePlugin':
      return remove(command, state);
    case 'PromotePlugin':
      return promote(command, state);
    case 'RecordTestRun':
      return recordTestRun(command, state);
    default: {
      const unknown: never = command;
      throw new ForgeOneError('COMMAND.UNKNOWN', `unknown plugin command ${(unknown as { type: string }).type}`);
    }
  }
}

/** evolve(state, event) → state; pure and total over the plugin's event types. */
export function evolve(state: PluginState, event: PluginEvent): PluginState {
  switch (event.type) {
    case PLUGIN_EVENT_TYPES.versionPublished: {
      const { name, version, digest, manifestDigest, sizeBytes, signature, publisher } = event.data;
      return { ...state, name, versions: { ...state.versions, [version]: { digest, manifestDigest, sizeBytes, signature: signature ?? null, publisher } } };
    }
    case PLUGIN_EVENT_TYPES.installed:
    case PLUGIN_EVENT_TYPES.upgraded:
    case PLUGIN_EVENT_TYPES.rolledBack: {
      const { environment, version, digest } = event.data;
      const highest = state.highestVersions[environment];
      return {
        ...state,
        installations: { ...state.installations, [environment]: { version, digest } },
        highestVersions: { ...state.highestVersions, [environment]: highest !== undefined && semver.gte(highest, version) ? highest : version },
      };
    }
    case PLUGIN_EVENT_TYPES.removed: {
      const { [event.data.environment]: _removed, ...rest } = state.installations;
      return { ...state, installations: rest };
    }
    case PLUGIN_EVENT_TYPES.testRunRecorded: {
      const { environment, digest, runId, version, passed, flagged, completedAt, totals } = event.data;
      const run = { runId, version, passed, flagged, completedAt, totals };
      return {
        ...state,
        testRuns: { ...state.testRuns, [environment]: { ...state.testRuns[environment], [digest]: run } },
        testRunsByVersion: { ...state.testRunsByVersion, [environment]: { ...state.testRunsByVersion[environment], [version]: { ...run, digest } } },
      };
    }
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The plugin aggregate (`<tenant>:<name>`) as the shared command handler takes it. */
export const pluginDecider: Decider<PluginCommand, PluginEvent, PluginState> = { decide, evolve, initialState: initialPluginState };

function publish({ data }: PublishPluginVersion, state: PluginState): PluginEvent[] {
  const existing = state.versions[data.version];
  if (existing) {
    const sameContent = existing.digest === data.digest && existing.manifestDigest === data.manifestDigest;
    const sameSignature = (existing.signature?.envelopeDigest ?? null) === (data.signature?.envelopeDigest ?? null);
    if (sameContent && sameSignature) return [];
    if (sameContent) {
      // Ignoring the new signature would leave the version as it was while the publisher believes it signed.
      throw refuse.publish(
        'REGISTRY.VERSION_EXISTS',
        `${data.name}@${data.version} is already published ${existing.signature ? `with another signature (${existing.signature.envelopeDigest})` : 'unsigned'}; a version and its signature are immutable: publish a new version to sign it differently`,
        { name: data.name, version: data.version, existingEnvelopeDigest: existing.signature?.envelopeDigest ?? null, envelopeDigest: data.signature?.envelopeDigest ?? null },
      );
    }
    throw refuse.publish(
      'REGISTRY.VERSION_EXISTS',
      `${data.name}@${data.version} is already published with different content (${existing.digest}); versions are immutable: publish a new version`,
      { name: data.name, version: data.version, existingDigest: existing.digest, digest: data.digest },
    );
  }
  const { privateEgress, ...rest } = data;
  return [{ type: PLUGIN_EVENT_TYPES.versionPublished, data: { ...rest, ...(privateEgress?.length ? { privateEgress: [...privateEgress] } : {}) } }];
}

function install({ data }: InstallPlugin, state: PluginState): PluginEvent[] {
  const version = requireVersion(state, data.name, data.version);
  refuseGated(data, 'install');
  const current = state.installations[data.environment];
  if (current) {
    throw refuse.install(
      'REGISTRY.ALREADY_INSTALLED',
      `${data.name} is already installed in ${data.environment} at ${current.version}; use upgrade to change the version`,
      { name: data.name, environment: data.environment, installedVersion: current.version },
    );
  }
  refuseDowngrade(state, data, 'install');
  return [
    {
      type: PLUGIN_EVENT_TYPES.installed,
      data: { name: data.name, version: data.version, digest: version.digest, environment: data.environment, ...emergencyOf(data) },
    },
  ];
}

function upgrade({ data }: UpgradePlugin, state: PluginState): PluginEvent[] {
  const current = requireInstallation(state, data.name, data.environment);
  const version = requireVersion(state, data.name, data.version);
  refuseGated(data, 'upgrade');
  if (semver.eq(data.version, current.version)) {
    throw refuse.upgrade(
      'REGISTRY.NOT_AN_UPGRADE',
      `${data.version} is already the version installed in ${data.environment}; an upgrade must raise the version`,
      { name: data.name, environment: data.environment, installedVersion: current.version, requestedVersion: data.version },
    );
  }
  // The installed version is never above the highest, so a version below the installed one is refused here too.
  refuseDowngrade(state, data, 'upgrade');
  return [
    {
      type: PLUGIN_EVENT_TYPES.upgraded,
      data: { name: data.name, fromVersion: current.version, version: data.version, digest: version.digest, environment: data.environment, ...emergencyOf(data) },
    },
  ];
}

function rollback({ data }: RollbackPlugin, state: PluginState): PluginEvent[] {
  const current = requireInstallation(state, data.name, data.environment);
  const version = requireVersion(state, data.name, data.version);
  if (!semver.lt(data.version, current.version)) {
    throw refuse.rollback(
      'REGISTRY.NOT_A_ROLLBACK',
      `${data.version} is not lower than ${current.version}, the version installed in ${data.environment}; a rollback must go to a lower version (use upgrade to raise it)`,
      { name: data.name, environment: data.environment, installedVersion: current.version, requestedVersion: data.version },
    );
  }
  return [
    {
      type: PLUGIN_EVENT_TYPES.rolledBack,
      data: { name: data.name, fromVersion: current.version, version: data.version, digest: version.digest, environment: data.environment, reason: data.reason },
    },
  ];
}

// A run is recorded only for the digest installed in its environment now, and judged against the
// previous version's latest run there (test-run.regression.ts).
function recordTestRun({ data }: RecordTestRun, state: PluginState): PluginEvent[] {
  requireVersion(state, data.name, data.version);
  requireTestedInstallation(state, data);
  const totals = testRunTotals(data.vectors);
  const baseline = baselineTestRun(state, data.environment, data.version);
  const regressions = baseline === null ? [] : testRunRegressions(baseline.run.totals, totals, data.limitFactor);
  return [
    {
      type: PLUGIN_EVENT_TYPES.testRunRecorded,
      data: {
        runId: data.runId,
        name: data.name,
        version: data.version,
        digest: data.digest,
        environment: data.environment,
        trigger: data.trigger,
        runner: data.runner,
        startedAt: data.startedAt,
        completedAt: data.completedAt,
        passed: data.vectors.every((v) => v.passed),
        vectors: data.vectors.map((v) => ({ ...v, error: v.error ? { ...v.error } : null })),
        totals,
        comparedWith: baseline === null ? null : { version: baseline.run.version, digest: baseline.digest, runId: baseline.run.runId },
        limitFactor: data.limitFactor,
        regressions,
        flagged: regressions.length > 0,
      },
    },
  ];
}

function remove({ data }: RemovePlugin, state: PluginState): PluginEvent[] {
  const current = requireInstallation(state, data.name, data.environment);
  return [{ type: PLUGIN_EVENT_TYPES.removed, data: { name: data.name, version: current.version, environment: data.environment } }];
}

// A gated environment takes versions by promotion; only an emergency change (its own policy action, asked by
// the use case) goes around it, and its reason is recorded on the event.
function refuseGated(data: { readonly name: string; readonly version: string; readonly environment: string } & GateFacts, verb: 'install' | 'upgrade'): void {
  if (!data.gated || data.emergency) return;
  throw refuse.installOrUpgrade(
    'REGISTRY.GATED_ENVIRONMENT',
    `${data.environment} is gated: versions reach it by promotion, not by ${verb}; use \`forgeone plugin promote ${data.name}@${data.version} --from <source> --to ${data.environment}\` once it is tested and approved, or, for an emergency, ${verb} with --emergency --reason <text>`,
    { name: data.name, version: data.version, environment: data.environment },
  );
}

function emergencyOf(data: GateFacts): { emergency?: { reason: string } } {
  return data.gated && data.emergency ? { emergency: { reason: data.emergency.reason } } : {};
}

function promote({ data }: PromotePlugin, state: PluginState): PluginEvent[] {
  requireVersion(state, data.name, data.version);
  const verdict = evaluatePromotionGates(state, data);
  if (verdict.unmet.length || !verdict.record) {
    const gates = verdict.unmet;
    throw refuse.promote(
      'PROMOTION.GATES_UNMET',
      `${data.name}@${data.version} cannot be promoted from ${data.from} to ${data.to}: ${gates.length} gate(s) do not hold (each with its reason in details.gates): ${gates.map((g) => g.code).join(', ')}`,
      { name: data.name, version: data.version, from: data.from, to: data.to, gates },
    );
  }
  const current = state.installations[data.to];
  const common = { name: data.name, version: data.version, digest: verdict.digest, environment: data.to, promotion: verdict.record };
  return current
    ? [{ type: PLUGIN_EVENT_TYPES.upgraded, data: { ...common, fromVersion: current.version } }]
    : [{ type: PLUGIN_EVENT_TYPES.installed, data: common }];
}

// Rollback protection (ARCHITECTURE.md, Registry): an environment never goes below the highest version it has had,
// even after a removal, unless an authorised rollback with a reason asks for it.
function refuseDowngrade(state: PluginState, data: { name: string; version: string; environment: string }, verb: 'install' | 'upgrade'): void {
  const highest = state.highestVersions[data.environment];
  if (highest === undefined || !semver.lt(data.version, highest)) return;
  const current = state.installations[data.environment];
  const rollback = `\`forgeone plugin rollback ${data.name}@${data.version} --env ${data.environment} --reason <text>\``;
  // A rollback goes below the installed version, so from below the target there is a step first.
  const how =
    current !== undefined && semver.lt(data.version, current.version)
      ? `to go back on purpose, use ${rollback}`
      : `to go back on purpose, ${current === undefined ? 'install' : 'upgrade to'} ${highest} or later, then use ${rollback}`;
  throw refuse.installOrUpgrade(
    'REGISTRY.DOWNGRADE_REFUSED',
    `${data.name}@${data.version} is lower than ${highest}, the highest version ${data.environment} has had, and ${verb} never goes back to a lower version; ${how}`,
    { name: data.name, environment: data.environment, highestVersion: highest, requestedVersion: data.version },
  );
}

function requireVersion(state: PluginState, name: string, version: string) {
  if (state.name === null) {
    throw refuse.needsVersion('REGISTRY.PLUGIN_NOT_FOUND', `plugin ${name} has never been published; publish it first`, { name });
  }
  const found = state.versions[version];
  if (!found) {
    throw refuse.needsVersion(
      'REGISTRY.VERSION_NOT_FOUND',
      `${name}@${version} does not exist; published versions: ${Object.keys(state.versions).sort(semver.compare).join(', ')}`,
      { name, version, publishedVersions: Object.keys(state.versions) },
    );
  }
  return found;
}

function requireInstallation(state: PluginState, name: string, environment: string) {
  const current = state.installations[environment];
  if (!current) {
    throw refuse.needsInstallation('REGISTRY.NOT_INSTALLED', `${name} is not installed in ${environment}; install it first`, { name, environment });
  }
  return current;
}
