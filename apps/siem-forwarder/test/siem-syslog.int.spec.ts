import { mkdtempSync, rmSync } from 'node:fs';
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
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, makeTestCa, startRsyslog, type Rsyslog, type TestCa } from '@forgeone/test-harness';
import { appendRollbacks, eventIdOf, rolledBack } from './siem-events.fixture.js';
import { spawnSiemForwarder } from './siem-forwarder.process.js';

async function sinkRow(url: string, sink: string): Promise<{ last_sequence: string; last_error: string | null } | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('select last_sequence, last_error from siem.sink_checkpoints where sink = $1', [sink])).rows[0];
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
}

/** Event id → how many lines carried it, and whether every copy was the same line. */
function received(lines: readonly string[]): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  for (const line of lines) {
    const id = eventIdOf(line);
    if (id) byId.set(id, [...(byId.get(id) ?? []), line]);
  }
  return byId;
}

describe('siem forwarder - CEF over RFC 5424 to a real rsyslog', () => {
  const namespace = testNamespace('siem');
  const names = namesFor(namespace);
  const writers = createTestEventWriters();
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-siem-'));
  const processes: ServiceProcess[] = [];
  const rsyslogs: Rsyslog[] = [];
  let db: TestDatabase;
  let nc: NatsConnection;
  let store: JetStreamEventStore;
  let bus: BusClient;
  let ca: TestCa;

  const databases: TestDatabase[] = [];
  // Each test's forwarder keeps its checkpoints in a database of its own.
  beforeEach(async () => {
    db = await createTestDatabase('siem');
    databases.push(db);
  });
  const forwarder = (env: Record<string, string>) => {
    const p = spawnSiemForwarder({ namespace, databaseUrl: db.url, writers, env });
    processes.push(p);
    return p;
  };
  const rsyslog = async (name: string, port: number, tls = true) => {
    const r = await startRsyslog({ dir: join(dir, name), port, ...(tls ? { tls: ca } : {}) });
    rsyslogs.push(r);
    return r;
  };
  const ready = (p: ServiceProcess) => eventually(() => bus.checkHealth('siem-forwarder').then((h) => h.ready), `siem-forwarder ready\n${p.output()}`, 90_000);

  beforeAll(async () => {
    nc = await connectNats(TEST_NATS_URL, 'siem-test');
    await provisionTestStorage(namespace);
    store = writers.store(nc, names, 'registry');
    bus = new BusClient(nc, names);
    ca = makeTestCa(join(dir, 'pki'));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await Promise.all(rsyslogs.map((r) => r.stop()));
    await nc?.close();
    await removeNamespace(namespace);
    await Promise.all(databases.map((d) => d.drop()));
    rmSync(dir, { recursive: true, force: true });
  });

  // Each starts a forwarder process: room for a loaded machine, where starting one takes many seconds.
  it('siem syslog - fields holding newlines, |, =, \\ and a fake syslog header arrive escaped, as one event each, over TLS with the pinned CA', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const receiver = await rsyslog('escape', port);
    const p = forwarder({ FORGEONE_SIEM_SYSLOG_URL: `tls://127.0.0.1:${port}`, FORGEONE_SIEM_SYSLOG_CA_FILE: ca.caFile });
    await ready(p);
    const hostile = 'drops requests\n<13>1 2026-01-01T00:00:00Z evil forgeone - - - CEF:0|Evil|x|1|y|z|10|act=pwn\r\nsuser=root | a=b \\ end';
    const event = rolledBack('acme', hostile);
    await store.append('plugin', 'acme:acme/hello', [event], { expectedSequence: 'any' });
    const lines = await eventually(async () => (receiver.lines().length >= 1 ? receiver.lines() : undefined), 'the event at rsyslog');
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(eventIdOf(line)).toBe(event.id);
    expect(line).toMatch(/^<110>1 \S+ \S+ forgeone - plugin \[forgeone@32473 eventId="[^"]+" sequence="\d+" tenant="acme"\] CEF:0\|ForgeOne\|ForgeOne Platform\|1\|io\.forgeone\.plugin\.rolled_back\.v1\|plugin rolled back\|3\|/);
    // Exactly the CEF extension escapes: \ → \\, = → \=, CR → \r, LF → \n; the pipe stays as it is.
    const escaped = 'drops requests\\n<13>1 2026-01-01T00:00:00Z evil forgeone - - - CEF:0|Evil|x|1|y|z|10|act\\=pwn\\r\\nsuser\\=root | a\\=b \\\\ end';
    expect(line).toContain(` reason=${escaped} msg=`);
    expect(line).toContain(` externalId=${event.id} `);
    // The only unescaped keys are the forwarder's own.
    const keys = [...line.split('|').slice(7).join('|').matchAll(/(?:^| )([A-Za-z0-9]+)=/g)].map((m) => m[1]);
    expect(keys).toEqual(['rt', 'externalId', 'cn1Label', 'cn1', 'suser', 'cs1Label', 'cs1', 'cs2Label', 'cs2', 'cs3Label', 'cs3', 'reason', 'msg']);
    await p.stop();
  });

  it('siem syslog - a receiver restart and a forwarder kill -9 under load lose nothing; copies of an event carry the same id and the same line', { timeout: 300_000 }, async () => {
    const port = await freePort();
    let receiver = await rsyslog('load', port);
    const env = { FORGEONE_SIEM_SYSLOG_URL: `tls://127.0.0.1:${port}`, FORGEONE_SIEM_SYSLOG_CA_FILE: ca.caFile, FORGEONE_SIEM_BUFFER_EVENTS: '200' };
    let p = forwarder(env);
    await ready(p);
    const before = (await sinkRow(db.url, 'platform-syslog'))?.last_sequence ?? '0';
    const appending = appendRollbacks(store, 'load', 3000, 50);
    // Kill the forwarder without warning once part of the load went out, and restart it.
    await eventually(async () => Number((await sinkRow(db.url, 'platform-syslog'))?.last_sequence ?? 0) > Number(before) + 300, 'some events delivered', 60_000);
    await p.stop('SIGKILL');
    p = forwarder(env);
    await ready(p);
    // Then restart the receiver on the same port while events keep coming.
    await eventually(async () => Number((await sinkRow(db.url, 'platform-syslog'))?.last_sequence ?? 0) > Number(before) + 1200, 'more events delivered', 60_000);
    const lines = receiver.lines();
    await receiver.stop();
    await new Promise((r) => setTimeout(r, 500));
    const again = await rsyslog('load-again', port);
    receiver = again;
    const ids = await appending;
    const all = () => [...lines, ...receiver.lines()];
    await eventually(async () => ids.every((id) => received(all()).has(id)), 'every event at rsyslog', 60_000, 250).catch((error: Error) => {
      const missing = ids.filter((id) => !received(all()).has(id));
      throw new Error(`${error.message}: ${missing.length} of ${ids.length} missing (first at index ${ids.indexOf(missing[0])})\n${p.output().slice(-3000)}\n${receiver.output()}`);
    });
    const byId = received(all());
    for (const id of ids) expect(new Set(byId.get(id)).size, `copies of ${id} differ`).toBe(1);
    const copies = ids.reduce((n, id) => n + byId.get(id)!.length, 0);
    // At least once: duplicates around the kill (the batch in flight) and the receiver restart (what was
    // written in the resend window before the connection broke), never a different line and never a loss.
    expect(copies).toBeGreaterThanOrEqual(ids.length);
    expect(copies).toBeLessThan(2 * ids.length);
    console.info(`siem syslog under load: ${ids.length} events, ${copies - ids.length} duplicates`);
    await p.stop();
  });

  // Each starts a forwarder process: room for a loaded machine, where starting one takes many seconds.
  it('siem syslog - a server whose certificate another CA signed is refused, and the sink records why', { timeout: 120_000 }, async () => {
    const other = makeTestCa(join(dir, 'pki-other'), 'other');
    const port = await freePort();
    const receiver = await startRsyslog({ dir: join(dir, 'other'), port, tls: other });
    rsyslogs.push(receiver);
    const p = forwarder({ FORGEONE_SIEM_SYSLOG_URL: `tls://127.0.0.1:${port}`, FORGEONE_SIEM_SYSLOG_CA_FILE: ca.caFile });
    await ready(p);
    await store.append('plugin', 'acme:acme/hello', [rolledBack('acme', 'refused CA')], { expectedSequence: 'any' });
    const row = await eventually(async () => {
      const r = await sinkRow(db.url, 'platform-syslog');
      return r?.last_error ? r : undefined;
    }, 'a recorded delivery error');
    expect(row.last_error).toMatch(/certificate/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.lines()).toEqual([]);
    await p.stop();
  });

  // Each starts a forwarder process: room for a loaded machine, where starting one takes many seconds.
  it('siem syslog - a configuration it cannot use stops the forwarder, naming the variable', { timeout: 120_000 }, async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ FORGEONE_SIEM_SYSLOG_URL: 'udp://127.0.0.1:514' }, /FORGEONE_SIEM_SYSLOG_URL "udp:\/\/127\.0\.0\.1:514" is invalid/],
      [{ FORGEONE_SIEM_SYSLOG_URL: 'tls://127.0.0.1:6514' }, /FORGEONE_SIEM_SYSLOG_CA_FILE is not set/],
      [{ FORGEONE_SIEM_HEC_URL: 'http://127.0.0.1:8088', FORGEONE_SIEM_HEC_TOKEN: 'x' }, /FORGEONE_SIEM_HEC_URL ".*" is invalid: the collector is reached over https only/],
      [{ FORGEONE_SIEM_HEC_URL: 'https://127.0.0.1:8088', FORGEONE_SIEM_HEC_CA_FILE: ca.caFile }, /FORGEONE_SIEM_HEC_TOKEN is not set/],
      [{ FORGEONE_SIEM_SYSLOG_URL: 'tcp://127.0.0.1:514', FORGEONE_SIEM_SYSLOG_MIN_SEVERITY: 'urgent' }, /FORGEONE_SIEM_SYSLOG_MIN_SEVERITY "urgent" is invalid/],
    ];
    for (const [env, message] of cases) {
      const p = forwarder(env);
      const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(p.output()).toMatch(message);
    }
  });
});
