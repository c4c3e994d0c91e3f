import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { epochMillis, renderCef } from './cef.format.js';
import type { SiemEvent } from './siem-event.js';
import { forgedEventRecord } from './siem-records.js';
import { octetCountedFrame, renderSyslogMessage, SyslogCefRenderer } from './syslog.format.js';
import { SyslogTransport } from './syslog.transport.js';

const event = (sequence: number, type: string, data: unknown, time = '2026-12-07T10:00:00.000Z'): SiemEvent => ({
  sequence,
  event: {
    specversion: '1.0',
    id: `e-${sequence}`,
    source: '/forgeone/registry',
    type,
    subject: 'acme:acme/hello',
    time,
    datacontenttype: 'application/json',
    data,
    actor: 'alice',
    tenant: 'acme',
    schemaversion: '1',
  } as SiemEvent['event'],
});

const frames = (events: readonly SiemEvent[], host: string) => Buffer.concat(events.map((e) => octetCountedFrame(renderSyslogMessage(e, renderCef(e), host))));

describe('siem syslog - the transport renders what the formats say', () => {
  it('every severity and type renders as renderSyslogMessage of renderCef, including odd types and the forged record', () => {
    const events = [
      event(1, 'io.forgeone.plugin.sandbox_violation.v1', { name: 'acme/hello' }),
      event(2, 'io.forgeone.policy.decision_recorded.v1', { decision: 'deny' }),
      event(3, 'io.forgeone.policy.decision_recorded.v1', { decision: 'allow' }),
      event(4, 'io.forgeone.key.revoked.v1', null),
      event(5, 'odd|type\\with=specials\n', { reason: 'x\r\ny' }),
      event(6, 'io.forgeone.plugin.installed.v1', { name: 'acme/hello' }, '2026-12-07T10:00:00+01:00'),
      forgedEventRecord({ sequence: 7, subject: 's', claimedType: 'a|b=c\nCEF:0|x', claimedId: null, claimedWriter: null, reason: 'unsigned' }, new Date('2026-12-07T10:00:01.500Z')),
    ];
    const renderer = new SyslogCefRenderer('host');
    for (const e of events) expect(renderer.message(e)).toBe(renderSyslogMessage(e, renderCef(e), 'host'));
    expect(new SyslogTransport({ kind: 'syslog', host: '127.0.0.1', port: 1, tls: false }, 'host').render(events).equals(frames(events, 'host'))).toBe(true);
  });

  it('rt is Date.parse of the event time, whatever its shape and whatever came before', () => {
    const times = [
      '2026-12-07T10:00:00.000Z',
      '2026-12-07T10:00:00.999Z',
      '2026-12-07T10:00:01.001Z',
      '2026-12-07T10:00:00.500Z',
      '1970-01-01T00:00:00.000Z',
      '2026-12-07T10:00:01.5a0Z',
      '2026-12-07T10:00:01.500+01:00',
      '2026-12-07T10:00:01Z',
      '2026-12-07 10:00:01.250Z',
      '2026-02-30T10:00:01.250Z',
      '2026-12-07T25:00:01.250Z',
      'not a time at all, 24 c.Z',
      '',
    ];
    for (const time of [...times, ...times.reverse()]) expect(Object.is(epochMillis(time), Date.parse(time)), time).toBe(true);
  });
});

describe('siem syslog - delivery over TCP', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  // A receiver that keeps every connection's bytes apart.
  async function receiver(): Promise<{ port: number; connections: { socket: Socket; bytes: Buffer[]; length: number }[] }> {
    const connections: { socket: Socket; bytes: Buffer[]; length: number }[] = [];
    server = createServer((socket) => {
      const connection = { socket, bytes: [] as Buffer[], length: 0 };
      connections.push(connection);
      socket.on('data', (chunk) => {
        connection.bytes.push(chunk);
        connection.length += chunk.length;
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { port: (server!.address() as { port: number }).port, connections };
  }

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  it('batches arrive as rendered; concurrent deliveries do not share a buffer; after a broken connection the recent batches go again first', { timeout: 60_000 }, async () => {
    const { port, connections } = await receiver();
    const transport = new SyslogTransport({ kind: 'syslog', host: '127.0.0.1', port, tls: false }, 'host');
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => event(from + i, 'io.forgeone.plugin.rolled_back.v1', { name: 'acme/hello', reason: `r${from + i} é=\\ ${'x'.repeat(i * 100)}` }));
    const zero = batch(1, 3);
    const one = batch(4, 300);
    const two = batch(304, 300);
    const three = batch(604, 5);
    await transport.deliver(zero);
    // The receiver stops reading, so the first batch (several megabytes) stays in flight while the second is rendered.
    connections[0].socket.pause();
    const delivering = Promise.all([transport.deliver(one), transport.deliver(two)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(transport['scratchInFlight']).toBe(true);
    connections[0].socket.resume();
    await delivering;
    const firstBytes = frames([...zero, ...one, ...two], 'host');
    await until(() => connections[0]?.length === firstBytes.length);
    expect(Buffer.concat(connections[0].bytes).equals(firstBytes)).toBe(true);

    connections[0].socket.destroy();
    await until(() => transport['broken'] === true);
    await transport.deliver(three);
    const againBytes = frames([...zero, ...one, ...two, ...three], 'host');
    await until(() => connections[1]?.length === againBytes.length);
    expect(Buffer.concat(connections[1].bytes).equals(againBytes)).toBe(true);
    await transport.close();
  });
  it('a receiver down for longer than the resend window still gets what was written just before it went down', { timeout: 60_000 }, async () => {
    const first = await receiver();
    const port = first.port;
    const transport = new SyslogTransport({ kind: 'syslog', host: '127.0.0.1', port, tls: false }, 'host', 100);
    const before = [event(1, 'io.forgeone.plugin.installed.v1', { name: 'acme/hello' })];
    const after = [event(2, 'io.forgeone.plugin.installed.v1', { name: 'acme/hello' })];
    await transport.deliver(before);
    await until(() => first.connections[0]?.length === frames(before, 'host').length);
    // The receiver goes away (as if killed before it processed what it was sent) for 5 windows.
    first.connections[0].socket.destroy();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await until(() => transport['broken'] === true);
    for (let i = 0; i < 5; i++) {
      await expect(transport.deliver(after)).rejects.toThrow(/syslog tcp:\/\/127\.0\.0\.1/);
      await new Promise((r) => setTimeout(r, 100));
    }
    const connections: { bytes: Buffer[]; length: number }[] = [];
    server = createServer((socket) => {
      const connection = { bytes: [] as Buffer[], length: 0 };
      connections.push(connection);
      socket.on('data', (chunk) => {
        connection.bytes.push(chunk);
        connection.length += chunk.length;
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    await transport.deliver(after);
    const expected = frames([...before, ...after], 'host');
    await until(() => connections[0]?.length === expected.length);
    expect(Buffer.concat(connections[0].bytes).equals(expected)).toBe(true);
    await transport.close();
  });
});
