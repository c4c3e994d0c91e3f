import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names as namesFor, type Names } from '@forgeone/contracts';
import { platformStorage, provisionPlatformStorage } from '@forgeone/event-store';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChildProcess } from './child-process.util.js';
import { InsecureNatsError, probeAnonymousNatsAccess, refuseInsecureNats } from './nats-security.probe.js';
import { findFreePort, waitForTcpPort } from './tcp-port.util.js';

const SHARED_NATS = process.env.FORGEONE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const MiB = 1024 * 1024;
const SETTINGS = { replicas: 1, eventsMaxBytes: 4 * MiB, artifactsMaxBytes: MiB, pluginKvMaxBytes: MiB };

function recordingLogger() {
  const lines: Array<{ level: 'info' | 'error'; fields: unknown; message: string }> = [];
  return {
    lines,
    logger: {
      info: (fields: unknown, message: string) => lines.push({ level: 'info', fields, message }),
      error: (fields: unknown, message: string) => lines.push({ level: 'error', fields, message }),
    } as never,
  };
}

describe('NATS security probe - a server that lets anyone in (the shared test NATS)', () => {
  const names = namesFor(`t-probe-${randomBytes(4).toString('hex')}`);
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connect({ servers: SHARED_NATS });
    await provisionPlatformStorage(nc, names, SETTINGS);
    await jetstream(nc).publish(names.eventSubject('plugin', 'acme:hello'), '{}');
  });

  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    for (const storage of platformStorage(names, SETTINGS)) await jsm.streams.delete(storage.stream).catch(() => undefined);
    await nc?.close();
  });

  it('nats probe - refuses the anonymous server without FORGEONE_NATS_INSECURE, naming every exposure, and writes nothing to the stream', async () => {
    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(names.stream)).state;
    const { logger, lines } = recordingLogger();

    const refused = await refuseInsecureNats(SHARED_NATS, names, { insecure: false, logger }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(InsecureNatsError);
    const message = (refused as Error).message;
    expect(message).toMatch(/^NATS nats:\/\/127\.0\.0\.1:4222 is insecure: a client without credentials may /);
    expect(message).toContain(`publish event subjects into stream ${names.stream} (JetStream answered on ${names.namespace}.forgeone.evt.<aggregate>.> for plugin, signature, key,`);
    expect(message).toContain(`change stream ${names.stream} through the JetStream API ($JS.API.STREAM.UPDATE.${names.stream} answered)`);
    expect(message).toContain(`subscribe to ${names.namespace}.forgeone.cmd.> and ${names.namespace}.forgeone.authz.check`);
    expect(message).toMatch(/or set FORGEONE_NATS_INSECURE=1 to run anyway/);
    expect(lines).toEqual([]);

    const after = (await jsm.streams.info(names.stream)).state;
    expect(after.messages).toBe(before.messages);
    expect(after.last_seq).toBe(before.last_seq);
    expect((await jsm.streams.info(names.stream)).config.name).toBe(names.stream);
  });

  it('nats probe - in insecure mode it starts, saying at error level that tokens and authorisation are exposed', async () => {
    const { logger, lines } = recordingLogger();
    const report = await refuseInsecureNats(SHARED_NATS, names, { insecure: true, logger });
    expect(report.anonymousConnects).toBe(true);
    expect(report.servers).toEqual(['nats://127.0.0.1:4222']);
    expect(report.exposures).toHaveLength(3);
    expect(lines).toEqual([
      {
        level: 'error',
        fields: { servers: report.servers, exposures: report.exposures },
        message: expect.stringMatching(/^FORGEONE_NATS_INSECURE=1: running on NATS .* API tokens, service credentials and authorisation decisions are exposed to anyone who can reach that NATS$/),
      },
    ]);
  });

  it('nats probe - credentials in the URL are not used for the probe', async () => {
    const report = await probeAnonymousNatsAccess(SHARED_NATS.replace('nats://', 'nats://someone:secret@'), names);
    expect(report.servers).toEqual(['nats://127.0.0.1:4222']);
    expect(report.exposures.length).toBeGreaterThan(0);
  });
});

describe('NATS security probe - a server with users and permissions', () => {
  let dir: string;
  const servers: ChildProcess[] = [];
  const names: Names = namesFor(`t-probe-${randomBytes(4).toString('hex')}`);
  const operatorPassword = `op${randomBytes(12).toString('hex')}`;

  // A server whose only users are an operator with every right and a guest that, when `guestPublishes`
  // is given, clients without credentials become (no_auth_user); the guest reads only its replies.
  async function startServer(guestPublishes?: readonly string[]): Promise<string> {
    const port = await findFreePort();
    const config = join(dir, `nats-${port}.conf`);
    await writeFile(
      config,
      [
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, `js-${port}`))} }`,
        'authorization {',
        '  users: [',
        `    { user: operator, password: ${operatorPassword} }`,
        `    { user: guest, password: guestpw, permissions: { publish: { allow: ${JSON.stringify(guestPublishes ?? ['_INBOX.>'])} }, subscribe: { allow: ["_INBOX.>"] } } }`,
        '  ]',
        '}',
        guestPublishes ? 'no_auth_user: guest' : '',
        '',
      ].join('\n'),
    );
    const server = spawn('nats-server', ['-c', config], { stdio: 'ignore' });
    servers.push(server);
    await waitForTcpPort('127.0.0.1', port, 10_000, () => (server.exitCode !== null ? new Error(`nats-server exited with ${server.exitCode}`) : undefined));
    const url = `nats://operator:${operatorPassword}@127.0.0.1:${port}`;
    const nc = await connect({ servers: `127.0.0.1:${port}`, user: 'operator', pass: operatorPassword });
    try {
      await provisionPlatformStorage(nc, names, SETTINGS);
    } finally {
      await nc.close();
    }
    return url;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forgeone-nats-probe-'));
  });

  afterAll(async () => {
    for (const server of servers) await stopChildProcess(server, 5_000);
    await rm(dir, { recursive: true, force: true });
  });

  it('nats probe - passes when clients without credentials are refused outright', async () => {
    const url = await startServer();
    const { logger, lines } = recordingLogger();
    const report = await refuseInsecureNats(url, names, { insecure: false, logger });
    expect(report).toEqual({ servers: [url.replace(`operator:${operatorPassword}@`, '')], anonymousConnects: false, exposures: [] });
    expect(lines.map((l) => l.level)).toEqual(['info']);
  });

  it('nats probe - passes when clients without credentials get a user that may only send commands', async () => {
    const url = await startServer(['forgeone.cmd.>', '_INBOX.>']);
    const report = await probeAnonymousNatsAccess(url, names);
    expect(report).toMatchObject({ anonymousConnects: true, exposures: [] });
  });

  it('nats probe - names what a guest with too broad permissions may do, and nothing it may not', async () => {
    const url = await startServer([`${names.namespace}.forgeone.evt.>`, '$JS.API.>', '_INBOX.>']);
    const report = await probeAnonymousNatsAccess(url, names);
    expect(report.exposures).toEqual([
      expect.stringMatching(new RegExp(`^publish event subjects into stream ${names.stream} \\(JetStream answered on `)),
      `change stream ${names.stream} through the JetStream API ($JS.API.STREAM.UPDATE.${names.stream} answered)`,
    ]);
  });
});
