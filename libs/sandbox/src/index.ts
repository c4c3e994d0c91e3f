export { DEFAULT_SANDBOX_CAPS, SandboxHost, type SandboxHostOptions } from './sandbox.host.js';
export {
  HOST_STATUS,
  type GuestLogEntry,
  type GuestMetric,
  type HostCallContext,
  type HostHooks,
  type LoadedPlugin,
  type LoadPluginSpec,
  type SandboxCallFailure,
  type SandboxCallOptions,
  type SandboxCallResult,
  type SandboxCallSuccess,
  type SandboxCaps,
  type SandboxLimits,
  type SandboxViolation,
} from './sandbox.types.js';
export { LocalHostHooks, HttpFixturesSchema, parseHttpFixtures, type HttpFixtures, type LocalHookNote } from './local-host.hooks.js';
export { runPluginTests, type PluginTestVectorResult, type RunPluginTestsInput } from './plugin-test.runner.js';
export {
  evolveInstallation,
  installationChangeOf,
  installationKey,
  pluginEventOf,
  publishedVersionKey,
  publishedVersionOf,
  type DesiredInstallation,
  type InstallationChange,
  type PluginCloudEvent,
  type PublishedVersion,
} from './plugin-installations.fold.js';
export { CallWindowAccumulator, type CallGroupSummary, type CallSample } from './call-window.accumulator.js';
export { judgeTestVector, testVectorResultOf, type TestVectorJudgement } from './test-vector.judge.js';
