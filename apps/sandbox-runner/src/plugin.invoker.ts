import { randomUUID } from 'node:crypto';
import type { AuthzClient } from '@forgeone/authz-client';
import {
  EnvironmentSchema,
  ForgeOneError,
  INVOCATION_EVENT_TYPES,
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
import type { NewEvent, SequencedLogWriter } from '@forgeone/event-sourcing';
import { testVectorResultOf, type CallSample, type SandboxCallResult, type SandboxHost } from '@forgeone/sandbox';
import { platformMetrics, pluginMetrics, type Logger, type PluginCallLabels } from '@forgeone/telemetry';
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

export interface InvocationCounters {
  ok: number;
  failed: number;
}

/** Who called what: the facts every invocation event carries. */
interface CallFacts {
  readonly tenant: string;
  readonly principal: string;
  readonly environment: string;
  readonly name: string;
  readonly handler: string;
  readonly version?: string;
  readonly digest?: string;
}

// Capabilities answered inside the worker: checked against policy before the call, not per use.
const WORKER_HOOKS = ['log', 'metrics', 'clock', 'config'] as const;
const MAX_MESSAGE = 2048;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// Invoke subjects already decoded and validated; cleared when full (a caller can name any subject).
const MAX_KNOWN_TARGETS = 4096;
// How long a test run waits for this runner to read the install or upgrade the registry just recorded.
const TEST_RUN_INSTALL_WAIT_MS = 10_000;
// The label value of a plugin call refused before an installed version was found.
const UNRESOLVED = '-';

/**
 * One invocation from request to reply: authorise `invoke` for the caller, find the installed
 * version (read-your-writes after a fresh install), run it in the sandbox with the call's hooks,
 * count successes, and record every failure — and every limit or hook refusal — as an event
 * before answering.
 */
export class PluginInvoker {
  private readonly counters = new Map<string, InvocationCounters>();
  private readonly targets = new Map<string, { readonly environment: string; readonly name: string }>();

  constructor(private readonly deps: PluginInvokerDeps) {}

  /** Per plugin counters of one tenant, keyed `<environment>/<plugin>`. */
  stats(tenant: string): Record<string, InvocationCounters> {
    const out: Record<string, InvocationCounters> = {};
    for (const [key, value] of this.counters) {
      const [t, rest] = splitOnce(key);
      if (t === tenant) out[rest] = { ...value };
    }
    return out;
  }

  /** Totals over every tenant, for the health reply. */
  totals(): InvocationCounters {
    let ok = 0;
    let failed = 0;
    for (const c of this.counters.values()) {
      ok += c.ok;
      failed += c.failed;
    }
    return { ok, failed };
  }

  /** @param source where the call came from (the `Forgeone-Source` header), for policy's count of failed authentications */
  async invoke(environmentToken: string, pluginToken: string, body: unknown, credential: string | undefined, source?: string): Promise<InvokeReply> {
    const { environment, name } = this.target(environmentToken, pluginToken);
    const request = parseInvokeRequest(body);
    const { handler } = request;
    const id = randomUUID();
    const input = request.input !== undefined ? Buffer.from(request.input, 'utf8') : Buffer.from(request.inputBase64 ?? '', 'base64');

    let tenant: string;
    let principal: string;
    try {
      // A cached decision answers at once: no turn of the event loop on the hot path.
      const answer = this.deps.authz.authorizeNow(credential, 'invoke', { type: 'Plugin', id: name, attributes: { environment } }, { environment, ...(source ? { source } : {}) });
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
    const chain: CallChain = { credential, tenant, environment, name, limits: installed.manifest.limits, privateEgress: installed.privateEgress, ...(source ? { source } : {}), decisions: new Map(), denials: [] };
    this.deps.hooks.calls.set(id, chain);
    let result: SandboxCallResult;
    try {
      const checking = this.workerCapabilities(installed, chain);
      const capabilities = checking === undefined ? undefined : await checking;
      // Only a plugin granted `config` reads configuration, so no other pays for loading it.
      const config = installed.manifest.capabilities.config === true ? await this.deps.config.valuesFor(tenant, environment, name) : undefined;
      result = await this.deps.host.call(installed.key, handler, input, {
        metadata: { invocation: id, tenant, environment, principal },
        spanAttributes: { 'forgeone.plugin.name': name, 'forgeone.plugin.version': installed.version, 'forgeone.environment': environment, 'forgeone.invocation': id },
        ...(capabilities !== undefined ? { capabilities } : {}),
        ...(config !== undefined ? { config } : {}),
      });
    } finally {
      this.deps.hooks.calls.delete(id);
      lease.release();
    }
    for (const entry of result.logs) this.deps.logger.info({ plugin: name, version: installed.version, environment, tenant, level: entry.level }, `plugin: ${entry.message}`);

    this.count(tenant, environment, name, result.ok);
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
    const facts = { ...who, version: installed.version, digest: installed.digest };
    const perCall = (await this.modeFor(tenant, environment)) === 'per-call';
    if (!perCall) this.deps.calls?.record(sample);
    // A plain success with no hook refused is only counted in its window, unless the tenant records every call.
    if (!result.ok || chain.denials.length > 0 || perCall) await this.recordOutcome(id, facts, result, chain, perCall ? sample : undefined);
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
      const config = installed.manifest.capabilities.config === true ? await this.deps.config.valuesFor(tenant, environment, name) : undefined;
      for (const [index, vector] of installed.manifest.tests.entries()) {
        const id = randomUUID();
        const chain: CallChain = { credential, tenant, environment, name, limits: installed.manifest.limits, privateEgress: installed.privateEgress, ...(source ? { source } : {}), decisions: new Map(), denials: [] };
        this.deps.hooks.calls.set(id, chain);
        let result: SandboxCallResult;
        try {
          const checking = this.workerCapabilities(installed, chain);
          const capabilities = checking === undefined ? undefined : await checking;
          result = await this.deps.host.call(installed.key, vector.handler, Buffer.from(vector.input, 'utf8'), {
            metadata: { invocation: id, tenant, environment, principal: 'test-run' },
            spanAttributes: { 'forgeone.plugin.name': name, 'forgeone.plugin.version': installed.version, 'forgeone.environment': environment, 'forgeone.test_vector': index },
            ...(capabilities !== undefined ? { capabilities } : {}),
            ...(config !== undefined ? { config } : {}),
          });
        } finally {
          this.deps.hooks.calls.delete(id);
        }
        vectors.push(testVectorResultOf(index, vector, result));
      }
    } finally {
      lease.release();
    }
    return { runner: this.deps.runnerId ?? 'runner', startedAt, completedAt: new Date().toISOString(), vectors };
  }

  private modeFor(tenant: string, environment: string): CallRecordingMode | Promise<CallRecordingMode> {
    return this.deps.recording?.modeFor(tenant, environment) ?? 'windows';
  }

  // One call as its own record, for tenants or environments set to per-call recording.
  private callRecord(id: string, facts: CallFacts, sample: CallSample): NewEvent {
    return this.event(`${id}:recorded`, INVOCATION_EVENT_TYPES.invocationRecorded, facts, {
      ok: sample.code === undefined,
      ...(sample.code !== undefined ? { code: sample.code } : {}),
      ...(sample.durationMs !== undefined ? { durationMs: sample.durationMs } : {}),
      ...(sample.fuelUsed !== undefined ? { fuelUsed: sample.fuelUsed } : {}),
      bytesIn: sample.bytesIn,
      bytesOut: sample.bytesOut,
      runner: this.deps.runnerId ?? 'runner',
    });
  }

  /** Records a failed call and every limit or hook refusal of the call as events, and the call itself when recorded per call. */
  private async recordOutcome(id: string, facts: CallFacts, result: SandboxCallResult, chain: CallChain, perCall?: CallSample): Promise<void> {
    const events: NewEvent[] = [];
    if (perCall !== undefined) events.push(this.callRecord(id, facts, perCall));
    if (!result.ok) {
      events.push(this.event(`${id}:failed`, INVOCATION_EVENT_TYPES.invocationFailed, facts, {
        code: result.error.code,
        message: truncate(result.error.message),
        durationMs: result.durationMs,
      }));
    }
    const violations = violationsOf(result, chain);
    violations.forEach((v, i) => events.push(this.event(`${id}:violation:${i}`, INVOCATION_EVENT_TYPES.sandboxViolation, facts, v)));
    if (events.length > 0) await this.deps.events.append(facts.tenant, events);
  }

  private target(environmentToken: string, pluginToken: string): { readonly environment: string; readonly name: string } {
    const key = `${environmentToken} ${pluginToken}`;
    let target = this.targets.get(key);
    if (target === undefined) {
      target = {
        environment: parseOrThrow(EnvironmentSchema, decodeSubjectToken(environmentToken), 'COMMAND.INVALID', 'the environment of the invoke subject'),
        name: parseOrThrow(PluginNameSchema, decodeSubjectToken(pluginToken), 'COMMAND.INVALID', 'the plugin of the invoke subject'),
      };
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
          // Behind the stream (just restarted, or slow): "not installed" would be a guess, so say what is known.
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
    metrics.pluginCall({
      ...labels,
      outcome: result.ok ? 'ok' : result.error.code,
      seconds: result.durationMs / 1000,
      ...(result.fuelUsed !== undefined ? { fuelUsed: result.fuelUsed } : {}),
      ...(result.memoryBytes > 0 ? { memoryBytes: result.memoryBytes } : {}),
    });
    if (!result.ok && result.error.code === 'SANDBOX.OVERLOADED') metrics.workerRejection();
    if (!result.ok && result.violation !== undefined) metrics.violation(result.violation);
    // A refused hook the call survived is a violation too; the one that ended it is counted above.
    const survived = !result.ok && result.violation === 'capability' ? chain.denials.length - 1 : chain.denials.length;
    for (let i = 0; i < survived; i++) metrics.violation('capability');
    pluginMetrics().record(labels, result.metrics);
  }

  private count(tenant: string, environment: string, name: string, ok: boolean): void {
    const key = `${tenant}\u0000${environment}/${name}`;
    const c = this.counters.get(key) ?? { ok: 0, failed: 0 };
    if (ok) c.ok++;
    else c.failed++;
    this.counters.set(key, c);
  }

  private async recordFailure(id: string, who: CallFacts, error: unknown): Promise<void> {
    const code = error instanceof ForgeOneError ? error.code : 'SERVICE.INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    this.count(who.tenant, who.environment, who.name, false);
    // Refused before a version was found: the plugin and environment named in the subject are the
    // caller's words (any name can be asked for), so only the tenant and the code label the series.
    platformMetrics().pluginCall({ tenant: who.tenant, plugin: UNRESOLVED, version: UNRESOLVED, environment: UNRESOLVED, outcome: code });
    const sample: CallSample = { tenant: who.tenant, plugin: who.name, environment: who.environment, principal: who.principal, code, bytesIn: 0, bytesOut: 0 };
    try {
      const perCall = (await this.modeFor(who.tenant, who.environment)) === 'per-call';
      if (!perCall) this.deps.calls?.record(sample);
      const failed = this.event(`${id}:failed`, INVOCATION_EVENT_TYPES.invocationFailed, who, { code, message: truncate(message) });
      await this.deps.events.append(who.tenant, perCall ? [this.callRecord(id, who, sample), failed] : [failed]);
    } catch (appendError) {
      this.deps.logger.error({ err: appendError, plugin: who.name, environment: who.environment }, 'could not record a failed invocation');
    }
  }

  private event(
    id: string,
    type: string,
    who: CallFacts,
    extra: Record<string, unknown>,
  ): NewEvent {
    const { tenant, principal, environment, name, handler, version, digest } = who;
    return {
      id,
      type,
      time: new Date().toISOString(),
      actor: principal,
      tenant,
      subject: name,
      data: { plugin: name, handler, environment, tenant, principal, ...(version ? { version } : {}), ...(digest ? { digest } : {}), ...extra },
    };
  }
}

function violationsOf(result: SandboxCallResult, chain: CallChain): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const hookDenials = [...chain.denials];
  if (!result.ok && result.violation !== undefined) {
    const hook = result.violation === 'capability' ? hookDenials.shift()?.hook : undefined;
    out.push({ limit: result.violation, code: result.error.code, message: truncate(result.error.message), ...(hook ? { hook } : {}) });
  }
  for (const d of hookDenials) out.push({ limit: 'capability', code: d.code, message: truncate(d.message), hook: d.hook });
  return out;
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function truncate(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

function splitOnce(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}
