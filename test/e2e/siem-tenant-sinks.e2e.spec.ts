import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names as namesFor, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES } from '@forgeone/contracts';
import {
  cliRefusal,
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  freePort,
  makeTestCa,
  removeNamespace,
  runCli,
  startRsyslog,
  startTestPlatform,
  testNamespace,
  TEST_NATS_URL,
  type Rsyslog,
  type TestCa,
  type TestDatabase,
  type TestPlatform,
} from '@forgeone/test-harness';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Tenant sinks may reach 127.0.0.2 only (the platform's FORGEONE_SIEM_TENANT_ALLOW_PRIVATE); 127.0.0.1 stays refused.
const OPENED = '127.0.0.2';
const HEC_TOKEN = `hec-${randomUUID()}`;

/** A Splunk HEC stand-in: HTTPS with the test CA's certificate, one envelope a line, the token checked. */
class HecCollector {
  readonly events: Record<string, unknown>[] = [];
  private server: Server | undefined;
  constructor(private readonly ca: TestCa) {}
  async start(port: number): Promise<void> {
    this.server = createServer({ cert: readFileSync(this.ca.certFile), key: readFileSync(this.ca.keyFile) }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (req.url !== '/services/collector/event' || req.method !== 'POST') return void res.writeHead(404).end('{"text":"not found"}');
        if (req.headers.authorization !== `Splunk ${HEC_TOKEN}`) return void res.writeHead(401).end('{"text":"Invalid token","code":4}');
        for (const line of body.split('\n').filter(Boolean)) this.events.push(JSON.parse(line) as Record<string, unknown>);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, OPENED, resolve));
  }
  metadata(): { uid: string; tenant_uid: string; log_name: string }[] {
    return this.events.map((e) => (e.event as { metadata: { uid: string; tenant_uid: string; log_name: string } }).metadata);
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface Refusal {
  code: string;
  message: string;
}

describe('siem - tenant sinks receive only their tenant, refuse private addresses, keep the token sealed; forged messages reach platform sinks', () => {
  const namespace = testNamespace('e2e-siem-tenant');
  const names = namesFor(namespace);
  const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-siem-tenant-'));
  let db: TestDatabase;
  let platform: TestPlatform;
  let platformSyslog: Rsyslog;
  let acmeSyslog: Rsyslog;
  let betaSyslog: Rsyslog;
  let hec: HecCollector;
  let hecPort: number;
  let ca: TestCa;
  let nc: NatsConnection;
  let acme: string;
  let beta: string;
  let acmeAuditor: string;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
  const sequenceOf = (line: string) => Number(/ sequence="(\d+)"/.exec(line)?.[1]);
  const tenantOf = (line: string) => /\] CEF:0\|/.test(line) ? /tenant="([^"]*)"/.exec(line)?.[1] : undefined;

  beforeAll(async () => {
    db = await createTestDatabase('fo_siem_tenant');
    ca = makeTestCa(join(work, 'pki'));
    // freePort probes 127.0.0.1, so a port taken on 127.0.0.2 can come back: ask until all four differ.
    const ports = new Set<number>();
    while (ports.size < 4) ports.add(await freePort());
    const [platformPort, acmePort, betaPort] = [...ports];
    hecPort = [...ports][3];
    platformSyslog = await startRsyslog({ dir: join(work, 'platform'), port: platformPort });
    acmeSyslog = await startRsyslog({ dir: join(work, 'acme'), port: acmePort, address: OPENED });
    betaSyslog = await startRsyslog({ dir: join(work, 'beta'), port: betaPort, address: OPENED });
    hec = new HecCollector(ca);
    await hec.start(hecPort);
    platform = await startTestPlatform({
      namespace,
      databaseUrl: db.url,
      timeoutMs: 150_000,
      env: {
        FORGEONE_SIEM_SYSLOG_URL: `tcp://127.0.0.1:${platformSyslog.port}`,
        FORGEONE_SIEM_TENANT_ALLOW_PRIVATE: `${OPENED}/32`,
        FORGEONE_SIEM_RETRY_MIN_MS: '100',
        FORGEONE_SIEM_RETRY_MAX_MS: '1000',
      },
    });
    nc = await connect({ servers: TEST_NATS_URL });
    acme = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'acme-admin', role: 'admin', tenant: 'acme' })).token;
    beta = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'beta-admin', role: 'admin', tenant: 'beta' })).token;
    acmeAuditor = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'acme-auditor', role: 'auditor', tenant: 'acme' })).token;
  }, 240_000);

  afterAll(async () => {
    await nc?.close();
    await platform?.stop();
    for (const peer of [platformSyslog, acmeSyslog, betaSyslog]) await peer?.stop();
    await hec?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('siem tenant e2e - a sink naming 127.0.0.1, localhost or 169.254.169.254 is refused with the range named, and nothing is stored', async () => {
    const loopback = cliRefusal(await as(acme, 'siem', 'sink', 'add', 'bad', 'tcp://127.0.0.1:514')) as Refusal;
    expect(loopback.code).toBe('SIEM.SINK_ADDRESS_REFUSED');
    expect(loopback.message).toContain('127.0.0.1 is in 127.0.0.0/8 (loopback');
    const byName = cliRefusal(await as(acme, 'siem', 'sink', 'add', 'bad', 'tcp://localhost:514')) as Refusal;
    expect(byName.code).toBe('SIEM.SINK_ADDRESS_REFUSED');
    expect(byName.message).toMatch(/localhost: (127\.0\.0\.1|::1) is in/);
    const metadata = cliRefusal(await as(acme, 'siem', 'sink', 'add', 'bad', 'tcp://169.254.169.254:514')) as Refusal;
    expect(metadata.code).toBe('SIEM.SINK_ADDRESS_REFUSED');
    expect(metadata.message).toContain('169.254.169.254 is in 169.254.0.0/16 (link-local');
    // The opened block is a /32: its neighbour is still refused.
    expect((cliRefusal(await as(acme, 'siem', 'sink', 'add', 'bad', 'tcp://127.0.0.3:514')) as Refusal).code).toBe('SIEM.SINK_ADDRESS_REFUSED');
    // A bad URL is named before anything is resolved.
    const invalid = cliRefusal(await as(acme, 'siem', 'sink', 'add', 'bad', 'udp://siem.example.com:514')) as Refusal;
    expect(invalid.code).toBe('COMMAND.INVALID');
    expect(invalid.message).toContain('url');
    expect(cliSucceeded<{ sinks: unknown[] }>(await as(acme, 'siem', 'sink', 'list')).sinks).toEqual([]);
    // A developer may not add sinks.
    const developer = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'acme-dev', role: 'developer', tenant: 'acme' })).token;
    expect((cliRefusal(await as(developer, 'siem', 'sink', 'add', 'soc', `tcp://${OPENED}:${acmeSyslog.port}`)) as Refusal).code).toBe('AUTHZ.DENIED');
  }, 600_000);

  it('siem tenant e2e - two tenants, each sink sees only its own tenant; status shows a tenant its own sinks; test sends one message; remove stops delivery', async () => {
    cliSucceeded(await as(acme, 'siem', 'sink', 'add', 'soc', `tcp://${OPENED}:${acmeSyslog.port}`));
    cliSucceeded(await as(beta, 'siem', 'sink', 'add', 'soc', `tcp://${OPENED}:${betaSyslog.port}`));
    // Each tenant changes its own environment: events of both tenants, interleaved.
    for (const threshold of ['2', '3']) {
      cliSucceeded(await as(acme, 'env', 'set', 'qa', '--threshold', threshold));
      cliSucceeded(await as(beta, 'env', 'set', 'qa', '--threshold', threshold));
    }
    const settingsChanged = (lines: string[]) => lines.filter((l) => l.includes('io.forgeone.environment.settings_changed.v1')).length;
    await eventually(async () => settingsChanged(acmeSyslog.lines()) >= 2 && settingsChanged(betaSyslog.lines()) >= 2, 'both tenants\' settings changes at their own sinks', 60_000);
    expect(acmeSyslog.lines().map(tenantOf)).toEqual(acmeSyslog.lines().map(() => 'acme'));
    expect(betaSyslog.lines().map(tenantOf)).toEqual(betaSyslog.lines().map(() => 'beta'));
    // The platform sink saw both.
    await eventually(async () => settingsChanged(platformSyslog.lines()) >= 4, 'every settings change at the platform sink', 60_000);

    const status = cliSucceeded<{ sinks: { sink: string; tenant: string | null }[] }>(await as(acmeAuditor, 'siem', 'status'));
    expect(status.sinks.map((s) => [s.sink, s.tenant])).toEqual([['acme/soc', 'acme']]);
    const all = cliSucceeded<{ sinks: { sink: string }[] }>(await as(platform.bootstrapToken, 'siem', 'status'));
    expect(all.sinks.map((s) => s.sink).sort()).toEqual(['acme/soc', 'beta/soc', 'platform-syslog']);

    const tested = cliSucceeded<{ name: string; delivered: boolean; eventId: string }>(await as(acme, 'siem', 'sink', 'test', 'soc'));
    expect(tested).toMatchObject({ name: 'soc', delivered: true });
    await eventually(async () => acmeSyslog.lines().some((l) => l.includes(`eventId="${tested.eventId}"`) && l.includes('io.forgeone.siem.sink_test.v1')), 'the test message at acme\'s rsyslog', 20_000);
    expect(betaSyslog.lines().some((l) => l.includes(tested.eventId))).toBe(false);
    // Another tenant's sink cannot be tested (nor seen).
    expect((cliRefusal(await as(acme, 'siem', 'sink', 'test', 'nope')) as Refusal).code).toBe('SIEM.SINK_NOT_FOUND');

    const removed = cliSucceeded<{ sequence: number }>(await as(acme, 'siem', 'sink', 'remove', 'soc'));
    // Beta's sink still receives beta's events; acme's removed one gets nothing after its removal.
    cliSucceeded(await as(acme, 'env', 'set', 'qa', '--threshold', '4'));
    const betaLater = cliSucceeded<{ sequence: number }>(await as(beta, 'env', 'set', 'qa', '--threshold', '4'));
    await eventually(async () => betaSyslog.lines().some((l) => sequenceOf(l) === betaLater.sequence), 'beta\'s later event at beta\'s sink', 60_000);
    await eventually(async () => platformSyslog.lines().some((l) => sequenceOf(l) === betaLater.sequence), 'beta\'s later event at the platform sink', 60_000);
    expect(acmeSyslog.lines().filter((l) => sequenceOf(l) > removed.sequence)).toEqual([]);
    expect(cliSucceeded<{ sinks: unknown[] }>(await as(acme, 'siem', 'sink', 'list')).sinks).toEqual([]);
    expect((cliRefusal(await as(acme, 'siem', 'sink', 'remove', 'soc')) as Refusal).code).toBe('SIEM.SINK_NOT_FOUND');
  }, 600_000);

  it('siem tenant e2e - a HEC sink keeps its token sealed: never in the stream, the list or the status; it receives its tenant\'s events and the test message', async () => {
    const tokenFile = join(work, 'hec-token');
    writeFileSync(tokenFile, `${HEC_TOKEN}\n`);
    const caFile = ca.caFile;
    const hecUrl = `https://${OPENED}:${hecPort}/`;
    const added = cliSucceeded<{ sequence: number }>(await as(acme, 'siem', 'sink', 'add', 'collector', hecUrl, '--ca-file', caFile, '--token-file', tokenFile));
    const listed = await as(acme, 'siem', 'sink', 'list');
    expect(listed.stdout).not.toContain(HEC_TOKEN);
    expect(cliSucceeded<{ sinks: { name: string; kind: string; tokenSet: boolean }[] }>(listed).sinks).toEqual([expect.objectContaining({ name: 'collector', kind: 'hec', tokenSet: true })]);

    const tested = cliSucceeded<{ eventId: string }>(await as(acme, 'siem', 'sink', 'test', 'collector'));
    expect(hec.metadata().some((m) => m.uid === tested.eventId && m.tenant_uid === 'acme')).toBe(true);
    const later = cliSucceeded<{ sequence: number }>(await as(acme, 'env', 'set', 'qa', '--threshold', '5'));
    cliSucceeded(await as(beta, 'env', 'set', 'qa', '--threshold', '5'));
    await eventually(async () => hec.metadata().some((m) => m.log_name === 'io.forgeone.environment.settings_changed.v1'), 'acme\'s settings change at the collector', 60_000);
    expect(later.sequence).toBeGreaterThan(added.sequence);
    expect(new Set(hec.metadata().map((m) => m.tenant_uid))).toEqual(new Set(['acme']));

    // Every message of the stream, read raw: the token appears in none of them.
    const jsm = await jetstreamManager(nc);
    const last = (await jsm.streams.info(names.stream)).state.last_seq;
    const raw: string[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const message = await jsm.streams.getMessage(names.stream, { seq });
      if (message) raw.push(new TextDecoder().decode(message.data));
    }
    expect(raw.length).toBe(last);
    expect(raw.some((payload) => payload.includes('io.forgeone.siem_sink.added.v1') && payload.includes('"kind":"hec"'))).toBe(true);
    expect(raw.filter((payload) => payload.includes(HEC_TOKEN))).toEqual([]);
    expect((await as(acme, 'siem', 'status')).stdout).not.toContain(HEC_TOKEN);
  }, 600_000);

  it('siem tenant e2e - a forged message reaches the platform sink as a high-severity record without its payload, and no tenant sink', async () => {
    const marker = `forged-payload-${randomUUID()}`;
    // What a forger publishes needs no factory: an envelope-shaped payload, no writer, no signature.
    const payload = JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      source: '/forgeone/registry',
      type: PLUGIN_EVENT_TYPES.installed,
      subject: 'forgeone/hello',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { name: 'forgeone/hello', version: '1.0.0', digest: `sha256:${'ab'.repeat(32)}`, environment: 'production', note: marker },
      actor: 'mallory',
      tenant: 'beta',
      schemaversion: '1',
    });
    const forged = (await jetstream(nc).publish(names.eventSubject(PLUGIN_AGGREGATE, 'beta:forgeone/hello'), new TextEncoder().encode(payload))).seq;
    const line = await eventually(async () => platformSyslog.lines().find((l) => l.includes(`eventId="forged-${forged}"`)), 'the forged-event record at the platform sink', 60_000);
    expect(line).toMatch(/^<106>1 /); // facility 13 (log audit), severity 2 (critical)
    expect(line).toContain('CEF:0|ForgeOne|ForgeOne Platform|1|io.forgeone.siem.forged_event.v1|siem forged event|8|');
    expect(line).toContain(`"sequence":${forged}`);
    expect(line).toContain('"reason":"unsigned"');
    expect(line).toContain('"claimedType":null');
    expect(line).not.toContain(marker);
    // beta's sink is running and caught up past the forgery, yet holds no record of it.
    const after = cliSucceeded<{ sequence: number }>(await as(beta, 'env', 'set', 'qa', '--threshold', '6'));
    await eventually(async () => betaSyslog.lines().some((l) => sequenceOf(l) === after.sequence), 'beta\'s next event at its sink', 60_000);
    expect(betaSyslog.lines().filter((l) => l.includes('forged'))).toEqual([]);
  }, 600_000);
});
