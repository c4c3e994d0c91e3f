import { describe, expect, it } from 'vitest';
import { renderCef } from './cef.format.js';
import { renderOcsf } from './ocsf.format.js';
import { severityOf } from './severity.js';
import { FORGED_EVENT_TYPE, forgedEventRecord } from './siem-records.js';
import { SinkAddressGuard, SinkAddressRefusedError } from './sink-address.guard.js';
import { renderSyslogMessage } from './syslog.format.js';

describe('siem records - what the forwarder reports itself', () => {
  const forged = forgedEventRecord(
    { sequence: 42, subject: 'forgeone.evt.plugin.beta~3ahello', claimedType: 'io.forgeone.plugin.installed.v1|x=y\nCEF:0|evil', claimedId: 'id\r\n1', claimedWriter: 'registry', reason: 'bad-signature' },
    new Date('2026-12-07T10:00:00.000Z'),
  );

  it('a forged message is a high-severity record keyed by its sequence, whose claimed fields cannot break the line', () => {
    expect(forged.event.type).toBe(FORGED_EVENT_TYPE);
    expect(forged.event.id).toBe('forged-42');
    expect(severityOf(forged.event)).toBe('high');
    const line = renderSyslogMessage(forged, renderCef(forged), 'host');
    expect(line.startsWith('<106>1 2026-12-07T10:00:00.000Z host forgeone - siem [forgeone@32473 eventId="forged-42" sequence="42" tenant="-"] CEF:0|ForgeOne|ForgeOne Platform|1|io.forgeone.siem.forged_event.v1|siem forged event|8|')).toBe(true);
    expect(line).not.toMatch(/[\r\n]/);
    // Control characters are dropped from claimed header values, and `=` is escaped inside msg.
    expect(line).toContain('"claimedType":"io.forgeone.plugin.installed.v1|x\\=yCEF:0|evil"');
    expect(line).toContain('"claimedId":"id1"');
    expect(line).toContain('"reason":"bad-signature"');
    expect(renderOcsf(forged)).toMatchObject({ class_uid: 2004, severity_id: 4, metadata: { uid: 'forged-42' } });
  });

  it('a long claimed value is cut', () => {
    const long = forgedEventRecord({ sequence: 1, subject: 's', claimedType: 'x'.repeat(5000), claimedId: null, claimedWriter: null, reason: 'unsigned' }, new Date());
    expect((long.event.data as { claimedType: string }).claimedType).toBe(`${'x'.repeat(256)}...(truncated)`);
  });
});

describe('siem sink address guard - judged where the connection opens', () => {
  const guard = new SinkAddressGuard(['127.0.0.2/32']);

  it('refuses loopback and the metadata address, naming the range; admits an opened block', async () => {
    await expect(guard.address('127.0.0.1')).rejects.toThrow(SinkAddressRefusedError);
    await expect(guard.address('127.0.0.1')).rejects.toThrow(/127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback/);
    await expect(guard.address('169.254.169.254')).rejects.toThrow(/169\.254\.0\.0\/16 \(link-local/);
    await expect(guard.address('127.0.0.2')).resolves.toBe('127.0.0.2');
    await expect(guard.address('93.184.216.34')).resolves.toBe('93.184.216.34');
  });

  it('resolves a name with the system resolver and refuses what it resolves to', async () => {
    await expect(guard.address('localhost')).rejects.toThrow(/^a tenant SIEM sink may not send to .*localhost: /);
  });

  it('a name that does not resolve is refused (fail closed)', async () => {
    await expect(guard.address('no-such-host.invalid')).rejects.toThrow(/no-such-host\.invalid does not resolve/);
  });
});
