import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning, killOnParentExit, stopChildProcess } from './child-process.util.js';
import { DEFAULT_RESTART_POLICY, decideRestart, initialRestartState, validateRestartPolicy, type RestartPolicy, type RestartState } from './restart.policy.js';
import type { Logger } from './runtime.logger.js';

/** One service process: `node [nodeArgs] <entry>` with exactly `env`. */
export interface ServiceSpec {
  readonly name: string;
  /** Absolute path of the service's compiled entry point (a .js file). */
  readonly entry: string;
  /** Node options before the entry, e.g. `['--import', <hook>]`. */
  readonly nodeArgs?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** Why the platform stopped, and the exit code the process should end with. */
export type PlatformExit =
  | { readonly reason: 'signal'; readonly signal: NodeJS.Signals; readonly exitCode: number }
  | {
      readonly reason: 'service-exited';
      readonly service: string;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      /** Exits in a row, each soon after its start, when the supervisor gave up restarting it. */
      readonly failures: number;
      readonly exitCode: number;
    }
  | { readonly reason: 'stopped'; readonly exitCode: number };

export interface SuperviseOptions {
  readonly services: readonly ServiceSpec[];
  /** Runs once, after every service is gone; stop NATS and Postgres here. */
  readonly onExit: (exit: PlatformExit) => void | Promise<void>;
  /** Grace period between SIGTERM and SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
  /**
   * How a service that exits on its own is restarted (default {@link DEFAULT_RESTART_POLICY});
   * `false`: never, the first unexpected exit stops the platform.
   */
  readonly restart?: RestartPolicy | false;
  /** Stop everything on SIGINT/SIGTERM of this process (default true). */
  readonly handleSignals?: boolean;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly logger?: Logger;
}

export interface Supervisor {
  /** Process ids of the services, by name; a restarted service's entry changes to its new process. */
  readonly pids: ReadonlyMap<string, number>;
  /** Stops every service (SIGTERM, SIGKILL after the grace period), then runs onExit. */
  stop(): Promise<PlatformExit>;
  /** Settles after onExit has run, however the platform stopped. */
  readonly done: Promise<PlatformExit>;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Runs each service as a child `node` process and forwards its output line by line (JSON log
 * lines unchanged, anything else prefixed with the service name). A service that exits on its
 * own is restarted after a growing wait (see {@link decideRestart}), with a log line naming its
 * exit code or signal; after too many rapid failures in a row the supervisor gives up and stops
 * the whole platform with exit code 1.
 */
export function superviseServices(options: SuperviseOptions): Supervisor {
  const missing = options.services.filter((service) => !existsSync(service.entry));
  if (missing.length > 0) {
    throw new Error(
      `Cannot start ${missing.map((s) => s.name).join(', ')}: ${missing.map((s) => s.entry).join(', ')} not found. ` +
        'Build the platform first: `npm run build` (or `npx nx run-many -t build`).',
    );
  }
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const handleSignals = options.handleSignals ?? true;
  const policy = options.restart === false ? undefined : validateRestartPolicy(options.restart ?? DEFAULT_RESTART_POLICY);
  const logger = options.logger;
  const children = new Map<string, ChildProcess>();
  const pids = new Map<string, number>();
  const restartStates = new Map<string, RestartState>();
  const pendingRestarts = new Set<NodeJS.Timeout>();
  const outputClosed: Promise<void>[] = [];
  const unregisters = new Set<() => void>();
  let stopping: Promise<PlatformExit> | undefined;
  let resolveDone!: (exit: PlatformExit) => void;
  const done = new Promise<PlatformExit>((resolveExit) => (resolveDone = resolveExit));

  const shutdown = (exit: PlatformExit): Promise<PlatformExit> => {
    stopping ??= (async () => {
      for (const timer of pendingRestarts) clearTimeout(timer);
      pendingRestarts.clear();
      await Promise.all([...children.values()].map((child) => stopChildProcess(child, stopTimeoutMs)));
      // Let the last log lines through before reporting; a stuck pipe must not block the exit.
      await Promise.race([Promise.all(outputClosed), sleep(1_000, undefined, { ref: false })]);
      for (const unregister of unregisters) unregister();
      if (handleSignals) for (const signal of SIGNALS) process.removeListener(signal, onSignal);
      try {
        await options.onExit(exit);
      } catch (error) {
        logger?.error({ err: error }, 'error while stopping the platform');
      }
      resolveDone(exit);
      return exit;
    })();
    return stopping;
  };

  function onSignal(signal: NodeJS.Signals) {
    if (stopping) {
      // A second Ctrl-C means "now": skip the grace period.
      logger?.warn({ signal }, 'second signal: killing the services');
      for (const child of children.values()) if (isRunning(child)) child.kill('SIGKILL');
      return;
    }
    logger?.info({ signal }, 'stopping the platform');
    void shutdown({ reason: 'signal', signal, exitCode: 0 });
  }

  const start = (service: ServiceSpec): void => {
    // Detached: a terminal's Ctrl-C reaches only this process, which then stops the services in order.
    const child = spawn(process.execPath, [...(service.nodeArgs ?? []), service.entry], {
      env: { ...service.env },
      cwd: service.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const startedAt = Date.now();
    children.set(service.name, child);
    if (child.pid !== undefined) pids.set(service.name, child.pid);
    const unregister = killOnParentExit(child);
    unregisters.add(unregister);
    outputClosed.push(forwardLines(child.stdout, service.name, options.stdout ?? process.stdout));
    outputClosed.push(forwardLines(child.stderr, service.name, options.stderr ?? process.stderr));
    let ended = false;
    const onUnexpectedEnd = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      // A spawn error may come with or without an exit event: act once.
      if (ended) return;
      ended = true;
      unregister();
      unregisters.delete(unregister);
      if (stopping) return;
      const how = error ? `could not be started (${error.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const uptimeMs = Date.now() - startedAt;
      const fields = { service: service.name, pid: child.pid, code, signal, uptimeMs, ...(error ? { err: error } : {}) };
      if (!policy) {
        logger?.error(fields, `service ${service.name} ${how}; stopping the platform`);
        void shutdown({ reason: 'service-exited', service: service.name, code, signal, failures: 1, exitCode: 1 });
        return;
      }
      const decision = decideRestart(restartStates.get(service.name) ?? initialRestartState, uptimeMs, policy);
      restartStates.set(service.name, decision.state);
      if (decision.action === 'give-up') {
        logger?.error(
          { ...fields, failures: decision.rapidFailures },
          `service ${service.name} ${how}, its failure ${decision.rapidFailures} in a row within ${seconds(policy.stableAfterMs)} of starting; ` +
            'giving up: stopping the platform (exit code 1). Its log lines above say why; fix that and start again',
        );
        void shutdown({ reason: 'service-exited', service: service.name, code, signal, failures: decision.rapidFailures, exitCode: 1 });
        return;
      }
      logger?.warn(
        { ...fields, attempt: decision.attempt, delayMs: decision.delayMs },
        `service ${service.name} ${how} after ${seconds(uptimeMs)}; restarting it in ${seconds(decision.delayMs)} ` +
          `(restart ${decision.attempt}; the platform gives up at ${policy.maxRapidFailures} failures in a row within ${seconds(policy.stableAfterMs)} of starting)`,
      );
      const timer = setTimeout(() => {
        pendingRestarts.delete(timer);
        if (stopping) return;
        start(service);
        logger?.warn({ service: service.name, pid: children.get(service.name)?.pid, attempt: decision.attempt }, `service ${service.name} restarted`);
      }, decision.delayMs);
      pendingRestarts.add(timer);
    };
    child.once('exit', (code, signal) => onUnexpectedEnd(code, signal));
    child.once('error', (error) => onUnexpectedEnd(null, null, error));
    logger?.debug({ service: service.name, pid: child.pid, entry: service.entry }, 'started service');
  };

  for (const service of options.services) start(service);
  if (handleSignals) for (const signal of SIGNALS) process.on(signal, onSignal);

  return { pids, done, stop: () => shutdown({ reason: 'stopped', exitCode: 0 }) };
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function forwardLines(stream: Readable | null, service: string, out: Writable): Promise<void> {
  if (!stream) return Promise.resolve();
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  // Services log JSON lines that already name the service; other output (a crash trace) gets a prefix.
  lines.on('line', (line) => out.write(line.startsWith('{') ? `${line}\n` : `[${service}] ${line}\n`));
  return new Promise((resolveClosed) => lines.once('close', () => resolveClosed()));
}
