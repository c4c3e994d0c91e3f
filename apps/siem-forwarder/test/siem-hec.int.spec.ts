import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusClient, connectNats } from '@forgeone/bus';
import { names as namesFor } from '@forgeone/contracts';
import type { JetStreamEventStore } from '@forgeone/event-store';
import {
  createTestDatabase,
  createTestEventWriters,
  eventually,
  provisionTestStorage,
  removeNamespace,
  testNamespace,
  TEST_NATS_URL,
  type ServiceProcess,
  type TestDatabase,
} from '@forgeone/test-harness';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTestCa, startRsyslog, type TestCa } from '@forgeone/test-harness';
import { appendRollbacks, eventIdOf, rolledBack } from './siem-events.fixture.js';
import { spawnSiemForwarder } from './siem-forwarder.process.js';

const TOKEN = 'hec-token-7f3a9c';

/** A Splunk HEC stand-in: HTTPS with the test CA's certificate, `/services/collector/event`, one envelope a line. */
class HecCollector {
  readonly events: Record<string, unknown>[] = [];
  readonly posts: { authorization: string | undefined; lines: number }[] = [];
  private server: Server | undefined;
  /** When set, every POST is answered 503 (a collector that is down without closing its port). */
  down = false;

  constructor(private readonly ca: TestCa) {}

  async start(port: number): Promise<void> {
    this.server = createServer({ cert: readFileSync(this.ca.certFile), key: readFileSync(this.ca.keyFile) }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (req.url !== '/services/collector/event' || req.method !== 'POST') return void res.writeHead(404).end('{"text":"not found"}');
        if (req.headers.authorization !== `Splunk ${TOKEN}`) return void res.writeHead(401).end('{"text":"Invalid token","code":4}');
        if (this.down) return void res.writeHead(503).end('{"text":"Server is busy","code":9}');
        const lines = body.split('\n').filter(Boolean);
        this.posts.push({ authorization: req.headers.authorization, lines: lines.length });
        for (const line of lines) this.events.push(JSON.parse(line) as Record<string, unknown>);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
  }

  /** OCSF `metadata.uid` (the event id) of every event received, duplicates included. */
  uids(): string[] {
    return this.events.map((e) => ((e.event as { metadata: { uid: string } }).metadata.uid));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}

describe('siem forwarder - OCSF in the Splunk HEC envelope over HTTPS', () => {
  const namespace = testNamespace('siemhec');
  const names = namesFor(namespace);
  const writers = createTestEventWriters();
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-siem-hec-'));
  const processes: ServiceProcess[] = [];
  const collectors: HecCollector[] = [];
  const databases: TestDatabase[] = [];
  let nc: NatsConnection;
  let store: JetStreamEventStore;
  let bus: BusClient;
  let ca: TestCa;

  const forwarder = async (env: Record<string, string>) => {
    const db = await createTestDatabase('siemhec');
    databases.push(db);
    const p = spawnSiemForwarder({ namespace, databaseUrl: db.url, writers, env });
    processes.push(p);
    await eventually(() => bus.checkHealth('siem-forwarder').then((h) => h.ready), 'siem-forwarder ready', 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${p.output()}`);
    });
    return p;
  };
  const collector = async (port: number) => {
    const c = new HecCollector(ca);
    await c.start(port);
    collectors.push(c);
    return c;
  };
  const hecEnv = (port: number) => ({
    FORGEONE_SIEM_HEC_URL: `https://127.0.0.1:${port}`,
    FORGEONE_SIEM_HEC_TOKEN: TOKEN,
    FORGEONE_SIEM_HEC_CA_FILE: ca.caFile,
    FORGEONE_SIEM_HEC_BATCH_EVENTS: '50',
  });

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'siem-hec-test');
    await provisionTestStorage(namespace);
    store = writers.store(nc, names, 'registry');
    bus = new BusClient(nc, names);
    ca = makeTestCa(join(dir, 'pki'));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await Promise.all(collectors.map((c) => c.stop()));
    await nc?.close();
    await removeNamespace(namespace);
    await Promise.all(databases.map((d) => d.drop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('siem hec - every event arrives once as OCSF, batched, with the token, and the token is in no log line', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const hec = await collector(port);
    const p = await forwarder(hecEnv(port));
    const ids = await appendRollbacks(store, 'acme', 300, 100);
    await eventually(async () => ids.every((id) => hec.uids().includes(id)), 'every event at the collector', 60_000, 200).catch((error: Error) => {
      throw new Error(`${error.message}\n${p.output().slice(-3000)}`);
    });
    expect(hec.uids().filter((uid) => ids.includes(uid))).toHaveLength(ids.length);
    expect(Math.max(...hec.posts.map((post) => post.lines))).toBeLessThanOrEqual(50);
    expect(hec.posts.length).toBeLessThan(ids.length);
    const first = hec.events.find((e) => (e.event as { metadata: { uid: string } }).metadata.uid === ids[0])!;
    expect(first).toMatchObject({ source: 'forgeone', sourcetype: 'ocsf', event: { class_uid: 6002, type_uid: 600205, severity_id: 2, metadata: { uid: ids[0], tenant_uid: 'acme' }, app: { name: 'acme/hello' } } });
    await p.stop();
    expect(p.output()).not.toContain(TOKEN);
  });

  it('siem hec - with the syslog sink down for 30 s the collector gets every event at once, and syslog catches up when it returns', { timeout: 150_000 }, async () => {
    const hecPort = await freePort();
    const syslogPort = await freePort();
    const hec = await collector(hecPort);
    // Nothing listens on the syslog port yet.
    const p = await forwarder({ ...hecEnv(hecPort), FORGEONE_SIEM_SYSLOG_URL: `tcp://127.0.0.1:${syslogPort}`, FORGEONE_SIEM_RETRY_MAX_MS: '2000' });
    const started = Date.now();
    const ids: string[] = [];
    const delays: number[] = [];
    while (Date.now() - started < 30_000) {
      const event = rolledBack('acme', `while syslog is down ${ids.length}`);
      const at = Date.now();
      await store.append('plugin', 'acme:acme/hello', [event], { expectedSequence: 'any' });
      ids.push(event.id);
      await eventually(async () => hec.uids().includes(event.id), 'the event at the collector', 10_000, 20).catch((error: Error) => {
        throw new Error(`${error.message}\n${p.output().slice(-3000)}`);
      });
      delays.push(Date.now() - at);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    // The down sink held nothing back: each event reached the collector within seconds on a loaded machine.
    expect(Math.max(...delays)).toBeLessThan(5_000);
    // Now rsyslog comes up on that port (plain TCP) and gets the backlog.
    const rsyslog = await startRsyslog({ dir: join(dir, 'late'), port: syslogPort });
    try {
      await eventually(async () => ids.every((id) => rsyslog.lines().some((line) => eventIdOf(line) === id)), 'the syslog backlog', 30_000, 200);
    } finally {
      await rsyslog.stop();
    }
    await p.stop();
  });
});
