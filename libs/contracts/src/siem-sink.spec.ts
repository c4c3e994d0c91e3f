import { describe, expect, it } from 'vitest';
import { AddSiemSinkRequestSchema, parseAllowedPrivateCidrs, refusedSinkAddresses, SiemSinkAddedSchema, siemSinkEndpoint, siemSinkViewOf } from './siem-sink.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const sealed = { alg: 'A256GCM' as const, keyId: '0123456789abcdef', nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAA', tag: 'AAAAAAAAAAAAAAAAAAAAAA==' };

describe('siem sink contract', () => {
  it('a sink URL is parsed per kind, each problem named', () => {
    expect(siemSinkEndpoint('syslog', 'tls://siem.example.com:6514')).toEqual({ host: 'siem.example.com', port: 6514 });
    expect(siemSinkEndpoint('syslog', 'tcp://[::1]:514')).toEqual({ host: '::1', port: 514 });
    expect(siemSinkEndpoint('hec', 'https://hec.example.com/services/collector/event')).toEqual({ host: 'hec.example.com', port: 443 });
    expect(siemSinkEndpoint('syslog', 'udp://x:514')).toBe('must be tcp://host:port or tls://host:port');
    expect(siemSinkEndpoint('syslog', 'tcp://x')).toMatch(/needs a port/);
    expect(siemSinkEndpoint('hec', 'http://x/')).toMatch(/https/);
    expect(siemSinkEndpoint('hec', 'https://user:pw@x/')).toMatch(/credentials/);
  });

  it('an add request needs a CA for TLS, a token for HEC, and nothing of the other kind', () => {
    expect(AddSiemSinkRequestSchema.safeParse({ name: 'soc', kind: 'syslog', url: 'tcp://x:514' }).success).toBe(true);
    const noCa = AddSiemSinkRequestSchema.safeParse({ name: 'soc', kind: 'syslog', url: 'tls://x:6514' });
    expect(noCa.success).toBe(false);
    expect(noCa.error?.issues.map((i) => i.path.join('.'))).toEqual(['ca']);
    const noToken = AddSiemSinkRequestSchema.safeParse({ name: 'soc', kind: 'hec', url: 'https://x/', ca: PEM });
    expect(noToken.error?.issues.map((i) => i.path.join('.'))).toEqual(['token']);
    expect(AddSiemSinkRequestSchema.safeParse({ name: 'soc', kind: 'syslog', url: 'tcp://x:514', token: 't' }).success).toBe(false);
    expect(AddSiemSinkRequestSchema.safeParse({ name: 'Soc!', kind: 'syslog', url: 'tcp://x:514' }).success).toBe(false);
  });

  it('a HEC sink event holds the token only sealed, and the view shows only that one is set', () => {
    expect(SiemSinkAddedSchema.safeParse({ name: 'h', kind: 'hec', url: 'https://x/', ca: PEM, token: 'clear-token', minSeverity: null, types: [] }).success).toBe(false);
    const definition = SiemSinkAddedSchema.parse({ name: 'h', kind: 'hec', url: 'https://x/', ca: PEM, token: sealed, minSeverity: null, types: [] });
    const view = siemSinkViewOf(definition, 'alice', '2026-12-07T10:00:00Z');
    expect(view).toEqual({ name: 'h', kind: 'hec', url: 'https://x/', tls: true, tokenSet: true, minSeverity: null, types: [], addedBy: 'alice', addedAt: '2026-12-07T10:00:00Z' });
  });

  it('refused addresses: the one list of refused ranges, minus the blocks the platform opened', () => {
    expect(refusedSinkAddresses(['93.184.216.34'], [])).toEqual([]);
    expect(refusedSinkAddresses(['127.0.0.1', '169.254.169.254', '10.0.0.1', 'fe80::1', '::ffff:192.168.1.1'], []).map((r) => r.range.cidr)).toEqual([
      '127.0.0.0/8',
      '169.254.0.0/16',
      '10.0.0.0/8',
      'fe80::/10',
      '::ffff:192.168.0.0/112',
    ]);
    const opened = parseAllowedPrivateCidrs('10.20.0.0/16, 127.0.0.2');
    expect(opened).toEqual(['10.20.0.0/16', '127.0.0.2/32']);
    expect(refusedSinkAddresses(['10.20.3.4', '127.0.0.2', '::ffff:10.20.0.1'], opened)).toEqual([]);
    expect(refusedSinkAddresses(['10.21.0.1', '127.0.0.1'], opened).map((r) => r.address)).toEqual(['10.21.0.1', '127.0.0.1']);
    expect(refusedSinkAddresses(['not-an-ip'], opened).map((r) => r.range.name)).toEqual(['unparseable']);
    expect(() => parseAllowedPrivateCidrs('10.0.0.0/33')).toThrow(/FORGEONE_SIEM_TENANT_ALLOW_PRIVATE: "10.0.0.0\/33" is not an IP address or a CIDR block/);
  });
});
