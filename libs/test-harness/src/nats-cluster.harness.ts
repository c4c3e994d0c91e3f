import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot } from './test-platform.js';

/** One node of a {@link NatsCluster}: its ports and folder stay the same across restarts. */
export interface NatsClusterNode {
  /** NATS_SERVER_NAME, also the name in stream info's `cluster.leader` and `replicas`. */
  readonly name: string;
  readonly clientPort: number;
  readonly monitorPort: number;
  readonly clusterPort: number;
  readonly storeDir: string;
  /** `nats://127.0.0.1:<clientPort>` (TLS is required by the node), without credentials. */
  readonly url: string;
  running(): boolean;
  /** Everything the node printed since it was first started (the last 64 KiB). */
  output(): string;
}

/** NATS servers on loopback forming one JetStream cluster from `infra/cluster/nats-cluster.conf`, with TLS. */
export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** The test CA (PEM) that signed every node's certificate: FORGEONE_NATS_CA_FILE. */
  readonly caFile: string;
  /** Every node's client URL, comma-separated, without credentials. */
  readonly urls: string;
  node(name: string): NatsClusterNode;
  /** SIGKILL (a crash): resolves once the process is gone. Its store is kept for {@link restart}. */
  kill(name: string): Promise<void>;
  /** Starts a killed node again on its ports and store; resolves once its /healthz answers ok. */
  restart(name: string): Promise<void>;
  /** Stops every node and removes the folder (certificates and stores). */
  stop(): Promise<void>;
}

export interface StartNatsClusterOptions {
  /** Number of nodes (default 3). */
  readonly size?: number;
  /** More environment for every node, e.g. the FORGEONE_NATS_*_PASSWORD variables that accounts.conf reads. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long the cluster may take to report healthy (default 60 s). */
  readonly startTimeoutMs?: number;
}

const OUTPUT_LIMIT = 64 * 1024;

/**
 * Starts a NATS cluster on 127.0.0.1 exactly as `infra/cluster/nats-cluster.conf` is shipped, its
 * parameters given as environment variables: free ports per node, a store folder per node, every
 * node's route, and certificates from `infra/cluster/make-test-ca.sh` (TLS on client and route
 * connections). Resolves when every node's /healthz answers ok (JetStream included).
 */
export async function startNatsCluster(options: StartNatsClusterOptions = {}): Promise<NatsCluster> {
  const root = repoRoot();
  const config = join(root, 'infra', 'cluster', 'nats-cluster.conf');
  const binary = natsServerBinary();
  const dir = await mkdtemp(join(tmpdir(), 'forgeone-nats-cluster-'));
  const names = Array.from({ length: options.size ?? 3 }, (_, i) => `nats-${i}`);
  const processes = new Map<string, ChildProcess>();
  const outputs = new Map<string, string>(names.map((name) => [name, '']));
  try {
    const tlsDir = join(dir, 'tls');
    await promisify(execFile)('sh', [join(root, 'infra', 'cluster', 'make-test-ca.sh'), tlsDir, ...names]);
    const ports = [];
    for (const name of names) ports.push({ name, clientPort: await freePort(), monitorPort: await freePort(), clusterPort: await freePort() });
    const routes = `[${ports.map((p) => `nats-route://127.0.0.1:${p.clusterPort}`).join(', ')}]`;
    const nodes: NatsClusterNode[] = [];
    for (const p of ports) {
      const storeDir = join(dir, 'store', p.name);
      await mkdir(storeDir, { recursive: true });
      nodes.push({
        ...p,
        storeDir,
        url: `nats://127.0.0.1:${p.clientPort}`,
        running: () => isRunning(processes.get(p.name)),
        output: () => outputs.get(p.name) ?? '',
      });
    }
    const envFor = (node: NatsClusterNode): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH ?? '',
      ...options.env,
      NATS_SERVER_NAME: node.name,
      NATS_HOST: '127.0.0.1',
      NATS_CLIENT_PORT: String(node.clientPort),
      NATS_MONITOR_PORT: String(node.monitorPort),
      NATS_CLUSTER_PORT: String(node.clusterPort),
      NATS_ROUTES: routes,
      NATS_STORE_DIR: node.storeDir,
      NATS_TLS_CERT: join(tlsDir, `${node.name}.crt`),
      NATS_TLS_KEY: join(tlsDir, `${node.name}.key`),
      NATS_TLS_CA: join(tlsDir, 'ca.crt'),
    });
    const launch = (node: NatsClusterNode) => {
      const child = spawn(binary, ['-c', config], { env: envFor(node), stdio: ['ignore', 'pipe', 'pipe'] });
      const append = (chunk: Buffer) => outputs.set(node.name, ((outputs.get(node.name) ?? '') + chunk.toString()).slice(-OUTPUT_LIMIT));
      child.stdout!.on('data', append);
      child.stderr!.on('data', append);
      processes.set(node.name, child);
    };
    const find = (name: string) => {
      const node = nodes.find((n) => n.name === name);
      if (!node) throw new Error(`no node ${name} in the cluster (${names.join(', ')})`);
      return node;
    };
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    for (const node of nodes) launch(node);
    await Promise.all(nodes.map((node) => waitHealthy(node, timeoutMs)));
    return {
      nodes,
      caFile: join(tlsDir, 'ca.crt'),
      urls: nodes.map((n) => n.url).join(','),
      node: find,
      kill: async (name) => stopProcess(processes.get(find(name).name), 'SIGKILL'),
      restart: async (name) => {
        const node = find(name);
        if (node.running()) throw new Error(`${name} is still running: kill it first`);
        launch(node);
        await waitHealthy(node, timeoutMs);
      },
      stop: async () => {
        await Promise.all([...processes.values()].map((child) => stopProcess(child, 'SIGTERM')));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all([...processes.values()].map((child) => stopProcess(child, 'SIGKILL')));
    const printed = [...outputs].map(([name, text]) => `--- ${name}\n${text.slice(-4_000)}`).join('\n');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${printed}`, { cause: error });
  }
}

/** Debian installs nats-server in /usr/sbin, often missing from PATH. */
function natsServerBinary(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin']) {
    if (existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  throw new Error('nats-server is not installed (not on PATH, nor in /usr/sbin)');
}

function isRunning(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

async function stopProcess(child: ChildProcess | undefined, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (!child || !isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), 10_000) : undefined;
  await exited;
  if (timer) clearTimeout(timer);
}

/** Polls the node's /healthz (which also waits for JetStream to be current) until it answers 200. */
async function waitHealthy(node: NatsClusterNode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not asked yet';
  while (Date.now() < deadline) {
    if (!node.running()) throw new Error(`${node.name} exited while starting`);
    try {
      const response = await fetch(`http://127.0.0.1:${node.monitorPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.ok) return;
      last = `${response.status} ${body.trim()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${node.name} not healthy after ${timeoutMs} ms (/healthz: ${last})`);
}
