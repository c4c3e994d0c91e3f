import {
  ForgeOneError,
  PLUGIN_AGGREGATE,
  PLUGIN_EVENT_TYPES,
  type PluginEvent,
  type PluginManifest,
  type RunTestVectorsReply,
  type RunTestVectorsRequest,
  type TestPluginRequest,
  type TestPluginResult,
  type TestVectorResult,
} from '@forgeone/contracts';
import type { RecordTestRun } from '../plugin/plugin.commands.js';
import { pluginDecider } from '../plugin/plugin.decider.js';
import { pluginAggregateId } from '../plugin/plugin.identity.js';
import { authorizeCommand } from './authorize-command.js';
import { decideAndAppend } from './decide-and-append.js';
import type { CommandContext, RegistryPorts } from './registry.ports.js';

/**
 * Runs an installed version's test vectors in the real sandbox: a sandbox-runner answers with each
 * vector's verdict and measures. The caller's credential goes along so the hooks are judged for the
 * tester. Rejects with the runner's ForgeOneError (`SANDBOX.*`) or a transport one (`SERVICE.*`).
 */
export interface TestVectorRunner {
  run(request: RunTestVectorsRequest, context: CommandContext): Promise<RunTestVectorsReply>;
}

/** What a test run needs: the stream, policy, a runner, and the regression factor. */
export type TestRunPorts = Pick<RegistryPorts, 'events' | 'authorizer'> & {
  readonly testVectors: TestVectorRunner;
  /** FORGEONE_TEST_REGRESSION_FACTOR. */
  readonly regressionFactor: number;
};

/** What started a run: `plugin test`, or an install or upgrade into an environment of FORGEONE_TEST_ON_INSTALL. */
export type TestRunTrigger = 'command' | 'install';

/**
 * How a run is authorised: `plugin test` asks `test`; a run an install or upgrade starts asks the
 * action of that command again (already allowed, so answered from the cache), since it is that
 * command's consequence and an operator who may install need not be a tester.
 */
export type TestRunAuthority = 'test' | 'install' | 'upgrade';

/**
 * `plugin test NAME@VERSION --env ENV` (Cedar `test` on the plugin, in that environment): runs the
 * manifest's vectors on the digest installed in ENV and records `test_run_recorded` with each result,
 * compared with the previous version's latest run there. Refused before anything runs when VERSION is
 * not the version installed in ENV (`REGISTRY.VERSION_NOT_INSTALLED`, `REGISTRY.NOT_INSTALLED`).
 * A module the runner cannot load or run at all (`SANDBOX.*`) is recorded as a run whose every vector
 * failed with that error, so an install that triggered it leaves a failing run on record.
 */
export async function testPlugin(
  ports: TestRunPorts,
  request: TestPluginRequest,
  context: CommandContext,
  trigger: TestRunTrigger = 'command',
  authority: TestRunAuthority = 'test',
): Promise<TestPluginResult> {
  const { plugin, metadata } = await authorizeCommand(ports.authorizer, { action: authority, plugin: request.name, environment: request.environment }, context);
  const stored = await ports.events.read(PLUGIN_AGGREGATE, pluginAggregateId(plugin));
  let state = pluginDecider.initialState();
  let manifest: PluginManifest | undefined;
  for (const { event } of stored) {
    const plugged = event as unknown as PluginEvent;
    state = pluginDecider.evolve(state, plugged);
    if (plugged.type === PLUGIN_EVENT_TYPES.versionPublished && plugged.data.version === request.version) manifest = plugged.data.manifest;
  }
  const digest = state.installations[request.environment]?.digest ?? '';
  const command = (vectors: readonly TestVectorResult[], run: { runner: string; startedAt: string; completedAt: string }): RecordTestRun => ({
    type: 'RecordTestRun',
    data: { runId: metadata.newId(), ...request, digest, trigger, ...run, vectors, limitFactor: ports.regressionFactor },
  });
  // The decider's own checks (published, installed at this version), before the runner is asked anything.
  const now = metadata.now.toISOString();
  pluginDecider.decide(command([], { runner: 'registry', startedAt: now, completedAt: now }), state);

  let reply: RunTestVectorsReply;
  try {
    reply = await ports.testVectors.run({ tenant: plugin.tenant, name: request.name, version: request.version, digest, environment: request.environment }, context);
  } catch (error) {
    // A module that cannot run fails every vector; anything else (no runner, a race) records nothing.
    if (!(error instanceof ForgeOneError) || !error.code.startsWith('SANDBOX.') || error.code === 'SANDBOX.NOT_FOUND' || manifest === undefined) throw error;
    const failed = new Date().toISOString();
    reply = {
      runner: typeof error.details?.runner === 'string' ? error.details.runner : 'unknown',
      startedAt: failed,
      completedAt: failed,
      vectors: manifest.tests.map((t, index) => ({
        index,
        handler: t.handler,
        passed: false,
        outputSha256: null,
        error: { code: error.code, message: error.message.slice(0, 2000) },
        durationMs: 0,
        fuel: 0,
        memoryPeakBytes: 0,
        outputBytes: 0,
      })),
    };
  }
  const { events, appended } = await decideAndAppend(ports.events, plugin, command(reply.vectors, reply), metadata);
  const event = events[0];
  if (event?.type !== PLUGIN_EVENT_TYPES.testRunRecorded) throw new Error('a test run decided no test_run_recorded event');
  return { ...event.data, eventId: appended[0].eventId, sequence: appended[0].sequence };
}
