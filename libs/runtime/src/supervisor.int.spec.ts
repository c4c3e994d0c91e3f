import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
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
  it('supervisor - forwards output; one service exiting stops the others with exit code 1', async () => {
    const out = captured();
    const err = captured();
    const exits: PlatformExit[] = [];
    const supervisor = superviseServices({
      services: [service('steady', { FIXTURE_MODE: 'silent' }), service('crashing', { FIXTURE_MODE: 'exit', FIXTURE_EXIT_CODE: '3' })],
      onExit: (exit) => void exits.push(exit),
      handleSignals: false,
      stdout: out.stream,
      stderr: err.stream,
    });
    const steadyPid = supervisor.pids.get('steady')!;
    const exit = await supervisor.done;

    expect(exit).toEqual({ reason: 'service-exited', service: 'crashing', code: 3, signal: null, exitCode: 1 });
    expect(exits).toEqual([exit]);
    expect(isAlive(steadyPid)).toBe(false);
    // JSON lines pass through unchanged, other lines carry the service name.
    expect(out.text()).toContain('{"level":"info","service":"steady","msg":"starting"}\n');
    expect(out.text()).toContain('[steady] plain line from steady\n');
    expect(out.text()).toContain('{"level":"info","service":"steady","msg":"stopped"}\n');
    expect(err.text()).toContain('[crashing] stderr line from crashing\n');
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
