import { randomUUID } from 'node:crypto';
import type { AuthzClient, ResourceRef } from '@forgeone/authz-client';
import {
  EnvironmentSchema,
  ForgeOneError,
  PluginNameSchema,
  decodeSubjectToken,
  parseInvokeRequest,
  parseOrThrow,
  type CallRecordingMode,
  type Capabilities,
  type InvokeReply,
  type RunTestVectorsReply,
  type RunTestVectorsRequest,
  type TestVectorResult,
} from '@forgeone/contracts';
import type { SequencedLogWriter } from '@forgeone/event-sourcing';
import { testVectorResultOf, type CallSample, type SandboxCallOptions, type SandboxCallResult, type SandboxHost } from '@forgeone/sandbox';
import { platformMetrics, pluginMetrics, type Logger, type PluginCallLabels } from '@forgeone/telemetry';
import { InvocationTally, type InvocationCounters } from './invocation.counters.js';
import { callRecordedEvent, invocationFailedEvent, outcomeEvents, type CallFacts } from './invocation.events.js';
import { authorizeHook, type CallChain, type PluginHostHooks } from './plugin-host.hooks.js';
import type { InstalledVersion, PluginInstallations } from './plugin-installations.table.js';
import type { PluginConfigSource } from './plugin-config.source.js';

export interface PluginInvokerDeps {
  readonly host: SandboxHost;
  readonly installations: PluginInstallations;
  readonly hooks: PluginHostHooks;
  /** What `config_get` answers per plugin and environment. */
  readonly config: Pick<PluginConfigSource, 'valuesFor'>;
  readonly authz: AuthzClient;
  /** Invocation records, one log per tenant (`forgeone.evt.invocation.<tenant>`). */
  readonly events: SequencedLogWriter;
  /** Stream sequence of the last event of plugin `<tenant>:<name>`, 0 when none (read-your-writes after an install). */
  readonly latestPluginSequence: (tenant: string, name: string) => Promise<number>;
  readonly logger: Logger;
  /** Where every call a tenant can be named for is counted (the runner's call windows). */
  readonly calls?: { record(sample: CallSample): void };
  /** Whether a tenant's calls in an environment are summarised in windows or recorded one by one. */
  readonly recording?: { modeFor(tenant: string, environment: string): CallRecordingMode | Promise<CallRecordingMode> };
  /** The runner's identity, named in per-call records. */
  readonly runnerId?: string;
  /** How long a call for a plugin the table does not know yet waits for the install to arrive (default 2000 ms). */
  readonly installWaitMs?: number;
}

// Capabilities answered inside the worker: checked against policy before the call, not per use.
const WORKER_HOOKS = ['log', 'metrics', 'clock', 'config'] as const;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// Invoke subjects already decoded and validated; cleared when full (a caller can name any subject).
const MAX_KNOWN_TARGETS = 4096;
// How long a test run waits for this runner to read the install or upgrade the registry just recorded.
const TEST_RUN_INSTALL_WAIT_MS = 10_000;
// The label value of a plugin call refused before an installed version was found.
const UNRESOLVED = '-';

/** What an invoke subject names, and the resource policy is asked about for it. */
interface InvokeTarget {
  readonly environment: string;
  readonly name: string;
  readonly resource: ResourceRef;
}

/**
 * One invocation from request to reply: authorise `invoke` for the caller, find the installed
 * version (read-your-writes after a fresh install), run it in the sandbox with the call's hooks,
 * count successes, and record every failure — and every limit or hook refusal — as an event
 * before answering.
 */
export class PluginInvoker {
  private readonly tally = new InvocationTally();
  private readonly targets = new Map<string, InvokeTarget>();

  constructor(private readonly deps: PluginInvokerDeps) {}

  /** Per plugin counters of one tenant, keyed `<environment>/<plugin>`. */
  stats(tenant: string): Record<string, InvocationCounters> {
    return this.tally.stats(tenant);
  }

  /** Totals over every tenant, for the health reply. */
  totals(): InvocationCounters {
    return this.tally.totals();
  }

  /** @param source where the call came from (the `Forgeone-Source` header), for policy's count of failed authentications */
  async invoke(environmentToken: string, pluginToken: string, body: unknown, credential: string | undefined, source?: string): Promise<InvokeReply> {
    const { environment, name, resource } = this.target(environmentToken, pluginToken);
    const request = parseInvokeRequest(body);
    const { handler } = request;
    const id = randomUUID();
    const input = request.input !== undefined ? Buffer.from(request.input, 'utf8') : Buffer.from(request.inputBase64 ?? '', 'base64');

    let tenant: string;
    let principal: string;
    try {
      // A cached decision answers at once: no turn of the event loop on the hot path.
      const answer = this.deps.authz.authorizeNow(credential, 'invoke', resource, { environment, ...(source ? { source } : {}) });
      const decision = answer instanceof Promise ? await answer : answer;
      tenant = decision.principal.tenant;
      principal = decision.principal.id;
    } catch (error) {
      // A denial names the caller and its tenant; an unauthenticated call has no tenant to file an event under.
      if (error instanceof ForgeOneError && error.code === 'AUTHZ.DENIED' && typeof error.details?.tenant === 'string' && typeof error.details.principal === 'string') {
        await this.recordFailure(id, { tenant: error.details.tenant, principal: error.details.principal, environment, name, handler }, error);
      }
      throw error;
    }
    const who = { tenant, principal, environment, name, handler };

    let lease;
    try {
      lease = this.deps.installations.acquireLoaded(tenant, environment, name) ?? (await this.lease(tenant, environment, name));
    } catch (error) {
      await this.recordFailure(id, who, error);
      throw error;
    }
    const installed = lease.installed;
    const chain = callChain(credential, installed, tenant, environment, name, source);
    let result: SandboxCallResult;
    try {
      result = await this.callInSandbox(
        id,
        installed,
        handler,
        input,
        chain,
        {
          metadata: { invocation: id, tenant, environment, principal },
          spanAttributes: { 'forgeone.plugin.name': name, 'forgeone.plugin.version': installed.version, 'forgeone.environment': environment, 'forgeone.invocation': id },
        },
        () => this.configFor(installed, tenant, environment, name),
      );
    } finally {
      lease.release();
    }
    for (const entry of result.logs) this.deps.logger.info({ plugin: name, version: installed.version, environment, tenant, level: entry.level }, `plugin: ${entry.message}`);

    this.tally.count(tenant, environment, name, result.ok);
    this.measure({ tenant, plugin: name, version: installed.version, environment }, result, chain);
    const sample: CallSample = {
      tenant,
      plugin: name,
      version: installed.version,
      environment,
      principal,
      ...(result.ok ? {} : { code: result.error.code }),
      durationMs: result.durationMs,
      ...(result.fuelUsed !== undefined ? { fuelUsed: result.fuelUsed } : {}),
      bytesIn: input.length,
      bytesOut: result.ok ? result.output.length : 0,
    };
    // Known at once for a tenant whose settings are cached: no turn of the event loop then.
    const mode = this.modeFor(tenant, environment);
    const perCall = (mode instanceof Promise ? await mode : mode) === 'per-call';
    if (!perCall) this.deps.calls?.record(sample);
    // A plain success with no hook refused is only counted in its window, unless the tenant records every call.
    if (!result.ok || chain.denials.length > 0 || perCall) {
      await this.recordOutcome(id, { ...who, version: installed.version, digest: installed.digest }, result, chain, perCall ? sample : undefined);
    }
    if (!result.ok) throw result.error;

    const output = decodeUtf8(result.output);
    return {
      plugin: name,
      handler,
      environment,
      version: installed.version,
      digest: installed.digest,
      ...(output !== undefined ? { output } : { outputBase64: Buffer.from(result.output).toString('base64') }),
      ...(result.fuelUsed !== undefined ? { fuelUsed: result.fuelUsed } : {}),
      durationMs: result.durationMs,
    };
  }

  /**
   * Runs the manifest test vectors of the version installed for `tenant` in `environment`, one call
   * each in order, exactly as calls run there: the same loaded module (limits held to the environment's
   * caps), the same hooks authorised for the caller behind `credential` (the registry forwards the
   * tester's), the environment's configuration. The vectors are not counted as invocations: the
   * registry records the run as one `test_run_recorded` event. Refused with `SANDBOX.NOT_FOUND` when
   * the installed digest is not the one asked for (an upgrade raced the request).
   */
  async runTestVectors(request: RunTestVectorsRequest, credential: string | undefined, source?: string): Promise<RunTestVectorsReply> {
    const { tenant, environment, name, digest } = request;
    // The registry asks right after an install or upgrade: read the stream that far first, so the
    // installation leased is the one the registry saw (the table loads a version before it swaps).
    const { installations } = this.deps;
    const latest = await this.deps.latestPluginSequence(tenant, name);
    if (latest > installations.sequence) await installations.waitFor(latest, TEST_RUN_INSTALL_WAIT_MS);
    const lease = installations.acquireLoaded(tenant, environment, name) ?? (await this.lease(tenant, environment, name));
    const startedAt = new Date().toISOString();
    const vectors: TestVectorResult[] = [];
    try {
      const installed = lease.installed;
      if (installed.digest !== digest || installed.version !== request.version) {
        throw new ForgeOneError('SANDBOX.NOT_FOUND', `${name}@${request.version} (${digest}) is no longer what ${environment} runs: ${installed.version} (${installed.digest}) is installed there; run the tests of that version`, {
          plugin: name,
          environment,
          installedVersion: installed.version,
          installedDigest: installed.digest,
        });
      }
      const pending = this.configFor(installed, tenant, environment, name);
      const config = pending === undefined ? undefined : await pending;
      for (const [index, vector] of installed.manifest.tests.entries()) {
        const id = randomUUID();
        const chain = callChain(credential, installed, tenant, environment, name, source);
        const result = await this.callInSandbox(
          id,
          installed,
          vector.handler,
          Buffer.from(vector.input, 'utf8'),
          chain,
          {
            metadata: { invocation: id, tenant, environment, principal: 'test-run' },
            spanAttributes: { 'forgeone.plugin.name': name, 'forgeone.plugin.version': installed.version, 'forgeone.environment': environment, 'forgeone.test_vector': index },
          },
          () => config,
        );
        vectors.push(testVectorResultOf(index, vector, result));
      }
    } finally {
      lease.release();
    }
    return { runner: this.runner(), startedAt, completedAt: new Date().toISOString(), vectors };
  }

  private modeFor(tenant: string, environment: string): CallRecordingMode | Promise<CallRecordingMode> {
    return this.deps.recording?.modeFor(tenant, environment) ?? 'windows';
  }

  /** Records a failed call and every limit or hook refusal of the call as events, and the call itself when recorded per call. */
  private async recordOutcome(id: string, facts: CallFacts, result: SandboxCallResult, chain: CallChain, perCall?: CallSample): Promise<void> {
    const events = outcomeEvents(id, facts, result, chain, this.runner(), perCall);
    if (events.length > 0) await this.deps.events.append(facts.tenant, events);
  }

  private runner(): string {
    return this.deps.runnerId ?? 'runner';
  }

  // Only a plugin granted `config` reads configuration, so no other pays for loading it.
  private configFor(installed: InstalledVersion, tenant: string, environment: string, name: string): Promise<Readonly<Record<string, string>>> | undefined {
    return installed.manifest.capabilities.config === true ? this.deps.config.valuesFor(tenant, environment, name) : undefined;
  }

  /** One call in the sandbox with the call's hooks: worker-side hooks policy denies are taken out of its capabilities first. */
  private async callInSandbox(
    id: string,
    installed: InstalledVersion,
    handler: string,
    input: Uint8Array,
    chain: CallChain,
    options: Pick<SandboxCallOptions, 'metadata' | 'spanAttributes'>,
    configFor: () => Promise<Readonly<Record<string, string>>> | Readonly<Record<string, string>> | undefined,
  ): Promise<SandboxCallResult> {
    this.deps.hooks.calls.set(id, chain);
    try {
      const checking = this.workerCapabilities(installed, chain);
      const capabilities = checking === undefined ? undefined : await checking;
      const pending = configFor();
      const config = pending instanceof Promise ? await pending : pending;
      return await this.deps.host.call(installed.key, handler, input, {
        ...options,
        ...(capabilities !== undefined ? { capabilities } : {}),
        ...(config !== undefined ? { config } : {}),
      });
    } finally {
      this.deps.hooks.calls.delete(id);
    }
  }

  private target(environmentToken: string, pluginToken: string): InvokeTarget {
    const key = `${environmentToken} ${pluginToken}`;
    let target = this.targets.get(key);
    if (target === undefined) {
      const environment = parseOrThrow(EnvironmentSchema, decodeSubjectToken(environmentToken), 'COMMAND.INVALID', 'the environment of the invoke subject');
      const name = parseOrThrow(PluginNameSchema, decodeSubjectToken(pluginToken), 'COMMAND.INVALID', 'the plugin of the invoke subject');
      // Frozen, so the authz client makes its part of the decision key once per target.
      target = { environment, name, resource: Object.freeze({ type: 'Plugin', id: name, attributes: Object.freeze({ environment }) }) };
      if (this.targets.size >= MAX_KNOWN_TARGETS) this.targets.clear();
      this.targets.set(key, target);
    }
    return target;
  }

  private async lease(tenant: string, environment: string, name: string) {
    const { installations } = this.deps;
    let lease = await installations.acquire(tenant, environment, name);
    if (lease === undefined) {
      // The caller may have just installed it: wait until the runner has read that far.
      const latest = await this.deps.latestPluginSequence(tenant, name);
      if (latest > installations.sequence) {
        if (!(await installations.waitFor(latest, this.deps.installWaitMs ?? 2_000))) {
          // Still behind the stream (the install on its way, the consumer slow or failing): "not installed" would be a guess, so say what is known.
          throw new ForgeOneError(
            'SANDBOX.OVERLOADED',
            `the sandbox-runner has not yet read the installations up to ${name}'s latest change (at stream sequence ${installations.sequence} of ${latest}); retry the call in a moment`,
            { plugin: name, environment },
          );
        }
        lease = await installations.acquire(tenant, environment, name);
      }
    }
    if (lease === undefined) {
      throw new ForgeOneError('SANDBOX.NOT_FOUND', `plugin ${name} is not installed in ${environment}; install it first (forgeone plugin install ${name}@<version> --env ${environment})`, {
        plugin: name,
        environment,
      });
    }
    return lease;
  }

  // Worker-side hooks need a policy allow too; a denied one is taken out of the call's capabilities.
  // Undefined at once for a plugin granted none of them: no policy question, no turn of the event loop.
  private workerCapabilities(installed: InstalledVersion, chain: CallChain): Promise<Capabilities | undefined> | undefined {
    const granted = installed.manifest.capabilities as Record<string, unknown>;
    const wanted = WORKER_HOOKS.filter((c) => granted[c] === true);
    return wanted.length === 0 ? undefined : this.withoutDeniedHooks(granted, wanted, chain);
  }

  private async withoutDeniedHooks(granted: Record<string, unknown>, wanted: readonly string[], chain: CallChain): Promise<Capabilities | undefined> {
    const denied = new Set<string>();
    await Promise.all(
      wanted.map((c) =>
        authorizeHook(this.deps.authz, chain, c).catch((error: unknown) => {
          if (error instanceof ForgeOneError && error.code === 'AUTHZ.DENIED') denied.add(c);
          else throw error;
        }),
      ),
    );
    if (denied.size === 0) return undefined;
    return Object.fromEntries(Object.entries(granted).filter(([c]) => !denied.has(c))) as Capabilities;
  }

  // Series of a call that ran: its installed version's labels, never the caller or the input.
  private measure(labels: PluginCallLabels, result: SandboxCallResult, chain: CallChain): void {
    const metrics = platformMetrics();
    // No metrics port, or recording paused: not even the sample is built.
    if (!metrics.recording) return;
    // One object literal of fixed shape: spreads here cost more per call than the series they feed.
    metrics.pluginCall({
      tenant: labels.tenant,
      plugin: labels.plugin,
      version: labels.version,
      environment: labels.environment,
      outcome: result.ok ? 'ok' : result.error.code,
      seconds: result.durationMs / 1000,
      fuelUsed: result.fuelUsed,
      memoryBytes: result.memoryBytes > 0 ? result.memoryBytes : undefined,
    });
    if (!result.ok && result.error.code === 'SANDBOX.OVERLOADED') metrics.workerRejection();
    if (!result.ok && result.violation !== undefined) metrics.violation(result.violation);
    // A refused hook the call survived is a violation too; the one that ended it is counted above.
    const survived = !result.ok && result.violation === 'capability' ? chain.denials.length - 1 : chain.denials.length;
    for (let i = 0; i < survived; i++) metrics.violation('capability');
    pluginMetrics().record(labels, result.metrics);
  }

  private async recordFailure(id: string, who: CallFacts, error: unknown): Promise<void> {
    const code = error instanceof ForgeOneError ? error.code : 'SERVICE.INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    this.tally.count(who.tenant, who.environment, who.name, false);
    // Refused before a version was found: the plugin and environment named in the subject are the
    // caller's words (any name can be asked for), so only the tenant and the code label the series.
    platformMetrics().pluginCall({ tenant: who.tenant, plugin: UNRESOLVED, version: UNRESOLVED, environment: UNRESOLVED, outcome: code });
    const sample: CallSample = { tenant: who.tenant, plugin: who.name, environment: who.environment, principal: who.principal, code, bytesIn: 0, bytesOut: 0 };
    try {
      const perCall = (await this.modeFor(who.tenant, who.environment)) === 'per-call';
      if (!perCall) this.deps.calls?.record(sample);
      const failed = invocationFailedEvent(id, who, { code, message });
      await this.deps.events.append(who.tenant, perCall ? [callRecordedEvent(id, who, sample, this.runner()), failed] : [failed]);
    } catch (appendError) {
      this.deps.logger.error({ err: appendError, plugin: who.name, environment: who.environment }, 'could not record a failed invocation');
    }
  }
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function callChain(credential: string | undefined, installed: InstalledVersion, tenant: string, environment: string, name: string, source: string | undefined): CallChain {
  return { credential, tenant, environment, name, limits: installed.manifest.limits, privateEgress: installed.privateEgress, ...(source ? { source } : {}), decisions: new Map(), denials: [] };
}
