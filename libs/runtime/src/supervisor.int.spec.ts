import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitForReadiness } from './readiness.js';
import { superviseServices, type PlatformExit, type ServiceSpec } from './supervisor.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'health-service.mjs');
const NATS_URL = 'nats://127.0.0.1:4222';

function captured() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

function service(name: string, env: Record<string, string> = {}): ServiceSpec {
  return { name, entry: FIXTURE, env: { PATH: process.env.PATH ?? '', FIXTURE_SERVICE: name, ...env } };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('superviseServices', () => {
  it('supervisor - forwards output; without restarts, one service exiting stops the others with exit code 1', async () => {
    const out = captured();
    const err = captured();
    const exits: PlatformExit[] = [];
    const supervisor = superviseServices({
      services: [service('steady', { FIXTURE_MODE: 'silent' }), service('crashing', { FIXTURE_MODE: 'exit', FIXTURE_EXIT_CODE: '3' })],
      onExit: (exit) => void exits.push(exit),
      restart: false,
      handleSignals: false,
      stdout: out.stream,
      stderr: err.stream,
    });
    const steadyPid = supervisor.pids.get('steady')!;
    const exit = await supervisor.done;

    expect(exit).toEqual({ reason: 'service-exited', service: 'crashing', code: 3, signal: null, failures: 1, exitCode: 1 });
    expect(exits).toEqual([exit]);
    expect(isAlive(steadyPid)).toBe(false);
    // JSON lines pass through unchanged, other lines carry the service name.
    expect(out.text()).toContain('{"level":"info","service":"steady","msg":"starting"}\n');
    expect(out.text()).toContain('[steady] plain line from steady\n');
    expect(out.text()).toContain('{"level":"info","service":"steady","msg":"stopped"}\n');
    expect(err.text()).toContain('[crashing] stderr line from crashing\n');
  });

  it('supervisor - restarts a service that exits, with a growing wait and a log line each time, then gives up and stops everything', async () => {
    const log = captured();
    const exits: PlatformExit[] = [];
    const supervisor = superviseServices({
      services: [service('steady', { FIXTURE_MODE: 'silent' }), service('crashing', { FIXTURE_MODE: 'exit', FIXTURE_EXIT_CODE: '3' })],
      onExit: (exit) => void exits.push(exit),
      restart: { initialDelayMs: 100, factor: 3, maxDelayMs: 2_000, stableAfterMs: 30_000, maxRapidFailures: 3 },
      handleSignals: false,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      logger: pino({ level: 'info' }, log.stream),
    });
    const steadyPid = supervisor.pids.get('steady')!;
    const crashingPids = new Set<number>([supervisor.pids.get('crashing')!]);
    const watch = setInterval(() => crashingPids.add(supervisor.pids.get('crashing')!), 20);
    const started = Date.now();
    const exit = await supervisor.done;
    clearInterval(watch);

    expect(exit).toEqual({ reason: 'service-exited', service: 'crashing', code: 3, signal: null, failures: 3, exitCode: 1 });
    expect(exits).toEqual([exit]);
    // Three runs of ~200 ms with waits of 100 ms and 300 ms between them.
    expect(crashingPids.size).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 200 + 100 + 300);
    const lines = log.text().trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; service?: string; code?: number; delayMs?: number });
    const restarts = lines.filter((line) => /restarting it/.test(line.msg));
    expect(restarts.map((line) => [line.service, line.code, line.delayMs])).toEqual([['crashing', 3, 100], ['crashing', 3, 300]]);
    expect(restarts[0]!.msg).toMatch(/^service crashing exited with code 3 after 0\.\d s; restarting it in 0\.1 s \(restart 1; the platform gives up at 3 failures in a row within 30 s of starting\)$/);
    expect(lines.filter((line) => line.msg === 'service crashing restarted')).toHaveLength(2);
    expect(lines.at(-1)!.msg).toMatch(/^service crashing exited with code 3, its failure 3 in a row within 30 s of starting; giving up: stopping the platform \(exit code 1\)/);
    // The steady one ran throughout and was stopped with the rest.
    expect(supervisor.pids.get('steady')).toBe(steadyPid);
    expect(isAlive(steadyPid)).toBe(false);
  });

  it('supervisor - a killed service is restarted under a new pid and says which signal ended it; stop() cancels a pending restart', async () => {
    const log = captured();
    const supervisor = superviseServices({
      services: [service('victim', { FIXTURE_MODE: 'silent' })],
      onExit: () => undefined,
      restart: { initialDelayMs: 100, factor: 2, maxDelayMs: 10_000, stableAfterMs: 30_000, maxRapidFailures: 5 },
      handleSignals: false,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      logger: pino({ level: 'info' }, log.stream),
    });
    const first = supervisor.pids.get('victim')!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => supervisor.pids.get('victim') !== first);
    const second = supervisor.pids.get('victim')!;
    expect(isAlive(second)).toBe(true);
    expect(log.text()).toMatch(/service victim was killed by SIGKILL after \d+\.\d s; restarting it in 0\.1 s/);
    // The second wait is 200 ms: stop during it and nothing starts again.
    process.kill(second, 'SIGKILL');
    await waitFor(() => log.text().includes('restarting it in 0.2 s'));
    expect(await supervisor.stop()).toEqual({ reason: 'stopped', exitCode: 0 });
    await new Promise((r) => setTimeout(r, 400));
    expect(supervisor.pids.get('victim')).toBe(second);
    expect(log.text().match(/service victim restarted/g)).toHaveLength(1);
  });

  it('supervisor - stop() kills a service that ignores SIGTERM after the grace period', async () => {
    const out = captured();
    const supervisor = superviseServices({
      services: [service('stubborn', { FIXTURE_MODE: 'ignore-sigterm' }), service('polite', { FIXTURE_MODE: 'silent' })],
      onExit: () => undefined,
      stopTimeoutMs: 500,
      handleSignals: false,
      stdout: out.stream,
      stderr: new PassThrough(),
    });
    // Give the stubborn one time to install its SIGTERM handler.
    await waitFor(() => out.text().includes('plain line from stubborn'));
    const started = Date.now();
    const exit = await supervisor.stop();
    expect(exit).toEqual({ reason: 'stopped', exitCode: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(out.text()).toContain('ignoring SIGTERM');
    for (const pid of supervisor.pids.values()) expect(isAlive(pid)).toBe(false);
  });

  it('supervisor - a missing entry point is reported before anything starts', () => {
    expect(() =>
      superviseServices({ services: [{ name: 'registry', entry: '/nowhere/apps/registry/dist/main.js', env: {} }], onExit: () => undefined }),
    ).toThrow(/registry: \/nowhere\/apps\/registry\/dist\/main\.js not found.*npm run build/);
  });
});

describe('waitForReadiness', () => {
  it('readiness - waits until every service answers ready', async () => {
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    const supervisor = superviseServices({
      services: [
        service('registry', { NATS_URL, FORGEONE_NAMESPACE: namespace }),
        service('policy', { NATS_URL, FORGEONE_NAMESPACE: namespace, FIXTURE_READY_AFTER_MS: '800' }),
      ],
      onExit: () => undefined,
      handleSignals: false,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    try {
      const started = Date.now();
      const status = await waitForReadiness(NATS_URL, namespace, ['registry', 'policy'], 20_000, { intervalMs: 100 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);
      expect(status.get('registry')).toMatchObject({ service: 'registry', ready: true });
      expect(status.get('policy')).toMatchObject({ service: 'policy', ready: true, checks: { db: { ok: true } } });
    } finally {
      await supervisor.stop();
    }
  });

  it('readiness - times out naming the services that are not ready and why', async () => {
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    const supervisor = superviseServices({
      services: [
        service('registry', { NATS_URL, FORGEONE_NAMESPACE: namespace }),
        service('signer', { NATS_URL, FORGEONE_NAMESPACE: namespace, FIXTURE_MODE: 'never-ready' }),
      ],
      onExit: () => undefined,
      handleSignals: false,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    try {
      const wait = waitForReadiness(NATS_URL, namespace, ['registry', 'signer', 'gateway'], 2_000, { intervalMs: 100 });
      await expect(wait).rejects.toThrow(/Services not ready after 2000 ms/);
      await expect(wait).rejects.toThrow(/signer reports not ready \(db=\{"ok":false,"detail":"database not reachable"\}\)/);
      await expect(wait).rejects.toThrow(/gateway no answer/);
      await expect(wait).rejects.not.toThrow(/registry/);
    } finally {
      await supervisor.stop();
    }
  });

  it('readiness - an abort signal ends the wait with its reason', async () => {
    const namespace = `t-${randomBytes(4).toString('hex')}`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('registry exited')), 300);
    await expect(waitForReadiness(NATS_URL, namespace, ['registry'], 10_000, { signal: controller.signal })).rejects.toThrow(
      'registry exited',
    );
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
