import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './test-platform.js';

const NATS_SERVER = process.env.FORGEONE_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/** A nats-server with JetStream of a test's own: its own store folder and port, killed and restarted at will. */
export interface PrivateNats {
  /** `nats://127.0.0.1:<port>` (no credentials: anyone on this machine may use it, as on the shared test server). */
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** Sends `signal` (default SIGKILL, a crash) and resolves once the server has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same store folder and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  remove(): Promise<void>;
  output(): string;
}

/** Starts `nats-server -js` on a free port of 127.0.0.1 with its store in a temporary folder. */
export async function startPrivateNats(): Promise<PrivateNats> {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} not found: install nats-server (Debian package nats-server) or set FORGEONE_TEST_NATS_SERVER`);
  const store = mkdtempSync(join(tmpdir(), 'forgeone-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let out = '';
  const start = async () => {
    const started = spawn(NATS_SERVER, ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    started.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 30_000;
    // Ready once it logs so: JetStream has then recovered its streams from the store.
    while (!out.slice(-2_000).includes('Server is ready')) {
      if (started.exitCode !== null) throw new Error(`nats-server exited with ${started.exitCode} while starting:\n${out.slice(-4_000)}`);
      if (Date.now() > deadline) throw new Error(`nats-server on port ${port} not ready after 30 s:\n${out.slice(-4_000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise<void>((resolve, reject) => {
      const socket = connectTcp(port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await exited;
  };
  try {
    await start();
  } catch (error) {
    await kill();
    rmSync(store, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    kill,
    start: async () => {
      out = '';
      await start();
    },
    remove: async () => {
      await kill('SIGTERM');
      rmSync(store, { recursive: true, force: true });
    },
    output: () => out,
  };
}
