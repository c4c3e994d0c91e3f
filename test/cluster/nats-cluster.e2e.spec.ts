import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { busInboxPrefix, names as namesFor, SERVICE_PRINCIPALS, SERVICES, type BusPrincipal } from '@forgeone/contracts';
import { natsPasswordVariable } from '@forgeone/runtime';
import {
  createTestDatabase,
  eventually,
  repoRoot,
  runCli,
  startNatsCluster,
  startTestPlatform,
  TEST_NATS_ENV,
  type NatsCluster,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The shipped infra/cluster configuration, three nodes on loopback with TLS on client and route
// connections, users and permissions from infra/nats/accounts.conf (so the platform runs secure:
// every service on its own password, anonymous clients refused). The cluster is private to this
// file, so the platform uses the default namespace, for which accounts.conf is generated.
describe('NATS cluster - three TLS nodes, the stream leader killed under load', () => {
  const names = namesFor('');
  const principals: BusPrincipal[] = [{ kind: 'operator' }, ...SERVICE_PRINCIPALS];
  // accounts.conf reads each password from nats-server's environment; a value must start with a letter.
  const passwords = new Map(principals.map((principal) => [natsPasswordVariable(principal), `p${randomBytes(18).toString('hex')}`]));
  const password = (principal: BusPrincipal) => passwords.get(natsPasswordVariable(principal))!;
  const storageEnv = {
    FORGEONE_NATS_REPLICAS: '3',
    FORGEONE_EVENTS_MAX_BYTES: TEST_NATS_ENV.FORGEONE_EVENTS_MAX_BYTES!,
    FORGEONE_ARTIFACTS_MAX_BYTES: TEST_NATS_ENV.FORGEONE_ARTIFACTS_MAX_BYTES!,
    FORGEONE_PLUGIN_KV_MAX_BYTES: TEST_NATS_ENV.FORGEONE_PLUGIN_KV_MAX_BYTES!,
    // The cluster refuses clients without credentials: the services' probe must find it secure.
    FORGEONE_NATS_INSECURE: '0',
  };
  const replicated = [names.stream, `OBJ_${names.artifactBucket}`, `KV_${names.pluginKvBucket}`];

  let cluster: NatsCluster;
  let db: TestDatabase;
  let platform: TestPlatform;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let operatorUrl: string;

  beforeAll(async () => {
    cluster = await startNatsCluster({ env: Object.fromEntries(passwords) });
    db = await createTestDatabase('cluster');
    const [first, ...rest] = cluster.nodes;
    // The operator's credentials on the first URL; natsConnectionOptions lifts them for the whole list.
    operatorUrl = [`nats://operator:${password({ kind: 'operator' })}@127.0.0.1:${first!.clientPort}`, ...rest.map((n) => n.url)].join(',');
    nc = await connect({
      servers: cluster.urls.split(','),
      user: 'operator',
      pass: password({ kind: 'operator' }),
      tls: { ca: readFileSync(cluster.caFile, 'utf8') },
      inboxPrefix: busInboxPrefix(names, { kind: 'operator' }),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    jsm = await jetstreamManager(nc);
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await nc?.close().catch(() => undefined);
    await cluster?.stop();
    await db?.drop();
  }, 120_000);

  it('cluster - a client without the CA or without credentials is refused', async () => {
    await expect(connect({ servers: cluster.nodes[0]!.url, user: 'operator', pass: password({ kind: 'operator' }), maxReconnectAttempts: 0, timeout: 5_000 })).rejects.toThrow(
      /certificate/,
    );
    await expect(connect({ servers: cluster.nodes[0]!.url, tls: { ca: readFileSync(cluster.caFile, 'utf8') }, maxReconnectAttempts: 0, timeout: 5_000 })).rejects.toThrow(
      /Authorization Violation/,
    );
  });

  it('cluster - admin setup creates the stream, the object store and the key/value bucket with 3 replicas', async () => {
    const setup = await runCli('http://127.0.0.1:9', ['admin', 'setup', '--json'], {
      env: { NATS_URL: operatorUrl, FORGEONE_NATS_CA_FILE: cluster.caFile, FORGEONE_NAMESPACE: '', ...storageEnv },
    });
    expect(setup.stderr).toBe('');
    expect(setup.code).toBe(0);
    const printed = JSON.parse(setup.stdout) as { storage: Array<{ stream: string; action: string }> };
    expect(printed.storage.map((s) => [s.stream, s.action])).toEqual(replicated.map((stream) => [stream, 'created']));
    for (const stream of replicated) {
      const info = await eventually(async () => {
        const i = await jsm.streams.info(stream);
        return i.cluster?.leader && (i.cluster.replicas ?? []).length === 2 ? i : undefined;
      }, `${stream} with a leader and two peers`);
      expect(info.config.num_replicas).toBe(3);
    }
  });

  it('cluster - the platform serves on TLS with every service on its own user, loses nothing acknowledged when the stream leader dies, and the node rejoins', async () => {
    const serviceCredentials = Object.fromEntries(
      SERVICES.map((service) => [`FORGEONE_NATS_CREDENTIAL_${service.replace(/-/g, '_').toUpperCase()}`, `${service}:${password({ kind: 'service', service })}`]),
    );
    platform = await startTestPlatform({
      namespace: '',
      databaseUrl: db.url,
      natsUrl: operatorUrl,
      natsCaFile: cluster.caFile,
      timeoutMs: 150_000,
      env: { ...storageEnv, ...serviceCredentials },
    });
    const load = new Load(platform);
    const hello = readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'plugin.wasm')).toString('base64');
    const manifest = JSON.parse(readFileSync(join(repoRoot(), 'examples', 'plugins', 'hello', 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
    const CLIENTS = 3;
    const clients = Array.from({ length: CLIENTS }, (_, i) => new LoadClient(load, `cluster/hello-${i}`, manifest, hello));
    // Each client's plugin is published and installed before the load: every later round upgrades it.
    for (const client of clients) await client.prepare();

    const running = clients.map((client) => client.run());
    await eventually(async () => load.acknowledged('before') >= CLIENTS * 4, 'commands acknowledged before the kill', 60_000, 200);

    const before = await jsm.streams.info(names.stream);
    const leader = before.cluster!.leader!;
    expect(cluster.nodes.map((n) => n.name)).toContain(leader);
    await cluster.kill(leader);
    load.phase = 'after';
    const killedAt = Date.now();
    const newLeader = await eventually(async () => {
      const info = await jsm.streams.info(names.stream);
      return info.cluster?.leader && info.cluster.leader !== leader ? info.cluster.leader : undefined;
    }, 'a new stream leader', 60_000, 250);
    // What the cluster looked like while it recovered, for a failure message.
    const samples: string[] = [];
    const sampling = (async () => {
      while (!load.stopped) {
        samples.push(await describeCluster(jsm, nc, replicated, names.artifactBucket, hello, killedAt));
        await new Promise((r) => setTimeout(r, 5_000));
      }
    })();
    // Still serving: every client gets commands and calls through after the kill.
    await eventually(async () => clients.every((c) => c.acknowledgedAfterKill >= 4 && c.callsAfterKill >= 2), 'commands and calls acknowledged after the kill', 90_000, 250).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(load.counts())}, after the kill ${JSON.stringify(clients.map((c) => [c.acknowledgedAfterKill, c.callsAfterKill]))}\n${samples.join('\n')}\n${platform.output().slice(-3_000)}`);
    });
    load.stop();
    await Promise.all([...running, sampling]);

    // Nothing lost: each acknowledged command's event is at the sequence its reply named, with its id.
    const acked = load.acks();
    for (const ack of acked) {
      const stored = await jsm.streams.getMessage(names.stream, { seq: ack.sequence });
      expect(stored?.header.get('Nats-Msg-Id'), `${ack.what} at ${ack.sequence}`).toBe(ack.eventId);
    }
    // ... and projected: in the audit log and in the registry's plugin view.
    const audited = await eventually(async () => {
      const ids = await load.auditLogEventIds();
      return acked.every((ack) => ids.has(ack.eventId)) ? ids : undefined;
    }, 'every acknowledged event in the audit log', 60_000, 500);
    const viewErrors: string[] = [];
    for (const client of clients) {
      const shown = await eventually(async () => {
        const reply = await load.json('GET', `/v1/plugins/${client.name}`);
        if (reply.status !== 200) viewErrors.push(`${client.name} ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
        return reply.status === 200 ? reply : undefined;
      }, `the plugin view of ${client.name}`, 60_000, 1_000).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}: ${viewErrors.join('; ')}\n${platform.output().slice(-3_000)}`);
      });
      const versions = ((shown.body as { versions: Array<{ version: string }> }).versions ?? []).map((v) => v.version);
      for (const version of client.publishedVersions) expect(versions, client.name).toContain(version);
    }
    const counts = load.counts();
    const firstAfter = load.firstAckAfter(killedAt);
    console.log(
      `cluster load: killed stream leader ${leader} (new leader ${newLeader}); first command acknowledged ${firstAfter === undefined ? 'never' : `${firstAfter - killedAt} ms`} after the kill; ` +
        `commands sent ${counts.sent.commands} (before kill ${counts.sent.before}, after ${counts.sent.after}), ` +
        `acknowledged ${acked.length} (before ${load.acknowledged('before')}, after ${load.acknowledged('after')}), ` +
        `in the stream ${acked.length}, projected ${acked.filter((a) => audited.has(a.eventId)).length}; ` +
        `calls sent ${counts.calls.sent}, answered ${counts.calls.ok}; failures ${JSON.stringify(counts.failures)}; ` +
        `plugin view errors before it answered ${viewErrors.length ? viewErrors.join('; ') : 'none'}`,
    );
    expect(acked.length).toBeGreaterThan(CLIENTS * 8);

    // The node rejoins: every replicated stream lists it as a current peer again.
    await cluster.restart(leader);
    for (const stream of replicated) {
      await eventually(async () => {
        const info: StreamInfo = await jsm.streams.info(stream);
        const peer = (info.cluster?.replicas ?? []).find((r) => r.name === leader);
        return info.cluster?.leader && peer?.current === true && (peer.lag ?? 0) === 0 ? info : undefined;
      }, `${leader} current again in ${stream}`, 60_000, 500);
    }
    // And the platform still serves with it back: a new version and its upgrade are acknowledged, and
    // calls reach the new version once the sandbox-runner has loaded it (it swaps in the background).
    const after = clients[0]!;
    const version = await after.publishAndUpgrade();
    expect(version, JSON.stringify(load.counts().failures)).toBeDefined();
    const callErrors: string[] = [];
    const answered = await eventually(async () => {
      const reply = await load.json('POST', after.callPath, { input: 'rejoined' });
      const body = reply.body as { output?: string; version?: string };
      if (reply.status !== 200) callErrors.push(`${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
      return reply.status === 200 && body.version === version ? body : undefined;
    }, `a call answered by ${after.name}@${version} after the rejoin`, 60_000, 1_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${callErrors.join('; ')}`);
    });
    expect(answered.output).toBe('hello, rejoined');
    console.log(`after the rejoin: ${after.name}@${version} published and upgraded; call errors before it answered: ${callErrors.length ? callErrors.join('; ') : 'none'}`);
  }, 420_000);
});

/** One line per replicated stream (leader, peers) and how an operator's read of the module fared. */
async function describeCluster(jsm: JetStreamManager, nc: NatsConnection, streams: readonly string[], bucket: string, wasmBase64: string, since: number): Promise<string> {
  const parts: string[] = [`+${Date.now() - since}ms`];
  for (const stream of streams) {
    try {
      const info = await jsm.streams.info(stream);
      parts.push(`${stream} leader=${info.cluster?.leader} peers=${(info.cluster?.replicas ?? []).map((r) => `${r.name}:${r.current ? 'current' : 'behind'}${r.offline ? ':offline' : ''}:lag${r.lag ?? 0}`).join(',')}`);
    } catch (error) {
      parts.push(`${stream} info failed: ${(error as Error).message}`);
    }
  }
  const started = Date.now();
  try {
    const hex = createHash('sha256').update(Buffer.from(wasmBase64, 'base64')).digest('hex');
    const bytes = await (await new Objm(nc).open(bucket)).getBlob(hex);
    parts.push(`operator read of the module: ${bytes?.byteLength ?? 'absent'} bytes in ${Date.now() - started} ms`);
  } catch (error) {
    parts.push(`operator read of the module failed after ${Date.now() - started} ms: ${(error as Error).message}`);
  }
  return parts.join(' | ');
}

type Phase = 'before' | 'after';
interface Ack {
  /** When the reply arrived (ms since the epoch). */
  readonly at: number;
  readonly what: string;
  readonly eventId: string;
  readonly sequence: number;
  readonly phase: Phase;
}

/** The shared bookkeeping of the load: what was sent and what the platform acknowledged. */
class Load {
  phase: Phase = 'before';
  stopped = false;
  private readonly acked: Ack[] = [];
  private readonly sent = { before: 0, after: 0 };
  private readonly calls = { sent: 0, ok: 0 };
  private readonly failures: Record<string, number> = {};

  constructor(private readonly platform: TestPlatform) {}

  async json(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.platform.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.platform.bootstrapToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the failure count
    }
    return { status: response.status, body: parsed };
  }

  /** Sends a command; an answer with `eventId` and `sequence` is an acknowledgement. */
  async command(what: string, method: string, path: string, body: unknown, expected: number): Promise<boolean> {
    const phase = this.phase;
    this.sent[phase] += 1;
    try {
      const reply = await this.json(method, path, body);
      const ack = reply.body as { eventId?: string; sequence?: number };
      if (reply.status === expected && typeof ack.eventId === 'string' && typeof ack.sequence === 'number') {
        this.acked.push({ at: Date.now(), what, eventId: ack.eventId, sequence: ack.sequence, phase });
        return true;
      }
      this.fail(`${what} ${reply.status} ${(reply.body as { error?: { code?: string } })?.error?.code ?? ''}`.trim());
    } catch (error) {
      this.fail(`${what} ${(error as Error).name}`);
    }
    return false;
  }

  async call(path: string, input: string): Promise<boolean> {
    this.calls.sent += 1;
    try {
      const reply = await this.json('POST', path, { input });
      if (reply.status === 200 && (reply.body as { output?: string }).output === `hello, ${input}`) {
        this.calls.ok += 1;
        return true;
      }
      this.fail(`call ${reply.status} ${(reply.body as { error?: { code?: string } })?.error?.code ?? ''}`.trim());
    } catch (error) {
      this.fail(`call ${(error as Error).name}`);
    }
    return false;
  }

  private fail(reason: string): void {
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
  }

  acknowledged(phase: Phase): number {
    return this.acked.filter((a) => a.phase === phase).length;
  }

  /** When the first command acknowledged after `time` was acknowledged. */
  firstAckAfter(time: number): number | undefined {
    return this.acked.find((a) => a.at > time)?.at;
  }

  acks(): readonly Ack[] {
    return [...this.acked];
  }

  counts() {
    return { sent: { ...this.sent, commands: this.sent.before + this.sent.after }, calls: { ...this.calls }, failures: { ...this.failures } };
  }

  stop(): void {
    this.stopped = true;
  }

  /** Every event id in the audit log, paging by sequence. */
  async auditLogEventIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    let after = 0;
    for (;;) {
      const page = await this.json('GET', `/v1/audit-log?limit=500&after=${after}`);
      if (page.status !== 200) throw new Error(`audit log answered ${page.status}: ${JSON.stringify(page.body)}`);
      const entries = (page.body as { entries: Array<{ eventId: string; sequence: number }> }).entries;
      for (const entry of entries) ids.add(entry.eventId);
      if (entries.length === 0) return ids;
      after = entries[entries.length - 1]!.sequence;
    }
  }
}

/** One client: publishes a new version of its own plugin, upgrades staging to it and calls it, round after round. */
class LoadClient {
  readonly publishedVersions: string[] = [];
  acknowledgedAfterKill = 0;
  callsAfterKill = 0;
  private minor = 0;

  constructor(
    private readonly load: Load,
    readonly name: string,
    private readonly manifest: Record<string, unknown>,
    private readonly wasm: string,
  ) {}

  private get installationPath(): string {
    return `/v1/environments/staging/installations/${this.name}`;
  }

  async prepare(): Promise<void> {
    expect(await this.publish('1.0.0')).toBe(true);
    expect(await this.load.command('install', 'POST', '/v1/environments/staging/installations', { name: this.name, version: '1.0.0' }, 201)).toBe(true);
  }

  private async publish(version: string): Promise<boolean> {
    const published = await this.load.command('publish', 'POST', '/v1/plugins', { manifest: { ...this.manifest, name: this.name, version }, wasm: this.wasm }, 201);
    if (published) this.publishedVersions.push(version);
    return published;
  }

  get callPath(): string {
    return `/v1/environments/staging/plugins/${this.name}/calls/greet`;
  }

  /** A new version (one whose publish was not acknowledged is never reused) and its upgrade; the version when both were acknowledged. */
  async publishAndUpgrade(): Promise<string | undefined> {
    this.minor += 1;
    const version = `1.${this.minor}.0`;
    const phase = this.load.phase;
    const published = await this.publish(version);
    const upgraded = published && (await this.load.command('upgrade', 'PUT', this.installationPath, { version }, 200));
    if (phase === 'after') this.acknowledgedAfterKill += Number(published) + Number(upgraded);
    return upgraded ? version : undefined;
  }

  /** One round: a new version, its upgrade, a call. */
  async round(): Promise<void> {
    await this.publishAndUpgrade();
    const phase = this.load.phase;
    const called = await this.load.call(this.callPath, `${this.name.replace('/', '-')}-${this.minor}`);
    if (phase === 'after') this.callsAfterKill += Number(called);
  }

  async run(): Promise<void> {
    while (!this.load.stopped) await this.round();
  }
}
