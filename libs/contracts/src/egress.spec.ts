import { describe, expect, it } from 'vitest';
import { describePrivateEgress, privateEgressEntries, privateEgressOf, refusedRangeOf, UNPARSEABLE_ADDRESS } from './egress.js';
import { PLUGIN_EVENT_TYPES } from './plugin.events.js';
import { EVENT_DATA_SCHEMAS } from './event-catalog.js';

describe('egress - refused address ranges', () => {
  it.each([
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.1.2', '127.0.0.0/8'],
    ['0.0.0.0', '0.0.0.0/8'],
    ['10.1.2.3', '10.0.0.0/8'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.168.0.10', '192.168.0.0/16'],
    ['100.64.0.1', '100.64.0.0/10'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['224.0.0.251', '224.0.0.0/4'],
    ['255.255.255.255', '240.0.0.0/4'],
    ['::', '::/128'],
    ['::1', '::1/128'],
    ['fe80::1', 'fe80::/10'],
    ['fd12:3456::1', 'fc00::/7'],
    ['ff02::1', 'ff00::/8'],
    ['64:ff9b::7f00:1', '64:ff9b::/96'],
    ['64:ff9b::808:808', '64:ff9b::/96'],
    ['2002:7f00:1::1', '2002::/16'],
    ['2002:808:808::1', '2002::/16'],
    ['2001:0:4136:e378::1', '2001::/32'],
    ['::7f00:1', '::/96'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.0/104'],
    ['::ffff:a9fe:a9fe', '::ffff:169.254.0.0/112'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.0/104'],
    ['[::1]', '::1/128'],
  ])('%s is refused as %s', (address, cidr) => {
    expect(refusedRangeOf(address)?.cidr).toBe(cidr);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is reachable', (address) => {
    expect(refusedRangeOf(address)).toBeUndefined();
  });

  it('refuses IPv4 written inside IPv6 notation whichever way the parser reads it', () => {
    // ipaddr.js reads ::a.b.c.d as IPv4-mapped; as IPv4-compatible it would be ::/96. Refused either way.
    expect(refusedRangeOf('::127.0.0.1')).toBeDefined();
    expect(refusedRangeOf('::ffff:0:127.0.0.1')?.cidr).toBe('::ffff:0:0:0/96');
  });

  it('names what a mapped address maps to', () => {
    expect(refusedRangeOf('::ffff:127.0.0.1')?.name).toBe('IPv4-mapped loopback (this machine)');
  });

  it('refuses what is not an IP address at all (fail closed)', () => {
    expect(refusedRangeOf('localhost')).toBe(UNPARSEABLE_ADDRESS);
    expect(refusedRangeOf('')).toBe(UNPARSEABLE_ADDRESS);
  });
});

describe('egress - allow-list entries that name refused addresses', () => {
  it('finds IP literals in refused ranges, with or without a port', () => {
    expect(privateEgressOf('127.0.0.1:8080')).toEqual({ entry: '127.0.0.1:8080', range: expect.objectContaining({ cidr: '127.0.0.0/8' }) });
    expect(privateEgressOf('169.254.169.254')?.range.cidr).toBe('169.254.0.0/16');
    expect(privateEgressOf('10.0.0.5:443')?.range.cidr).toBe('10.0.0.0/8');
  });

  it('reads numbers as a URL does: 2130706433 and 127.1 are 127.0.0.1', () => {
    expect(privateEgressOf('2130706433')?.range.cidr).toBe('127.0.0.0/8');
    expect(privateEgressOf('127.1:80')?.range.cidr).toBe('127.0.0.0/8');
  });

  it('finds names of this machine, wildcards below localhost included', () => {
    for (const entry of ['localhost', 'localhost:8080', 'LOCALHOST', 'api.localhost', '*.localhost', 'ip6-localhost', 'localhost.localdomain']) {
      expect(privateEgressOf(entry)?.range.name, entry).toMatch(/loopback/);
    }
  });

  it('leaves public addresses and other names to the call-time check', () => {
    for (const entry of ['example.com', '*.example.com', 'api.example.com:8443', '93.184.216.34', 'localhost.example.com', '*.0.0.1']) {
      expect(privateEgressOf(entry), entry).toBeUndefined();
    }
  });

  it('lists the refused entries of an allow-list in order and describes each with its range', () => {
    const found = privateEgressEntries(['example.com', '127.0.0.1:9000', 'localhost', '169.254.169.254']);
    expect(found.map((f) => f.entry)).toEqual(['127.0.0.1:9000', 'localhost', '169.254.169.254']);
    expect(describePrivateEgress(found[0])).toBe('"127.0.0.1:9000" is in 127.0.0.0/8 (loopback (this machine))');
  });
});

describe('egress - the version_published event', () => {
  const schema = EVENT_DATA_SCHEMAS[PLUGIN_EVENT_TYPES.versionPublished];
  const data = {
    name: 'acme/fetch',
    version: '1.0.0',
    digest: `sha256:${'a'.repeat(64)}`,
    sizeBytes: 10,
    manifestDigest: `sha256:${'b'.repeat(64)}`,
    manifest: {
      name: 'acme/fetch',
      version: '1.0.0',
      abi: 1,
      description: 'fetches',
      handlers: ['run'],
      capabilities: { http: { allow: ['example.com', '127.0.0.1:9000'] } },
      limits: { memoryMiB: 1, fuel: 1000, timeoutMs: 100, maxOutputBytes: 10 },
    },
    publisher: 'root',
  };

  it('records the private entries the publisher was allowed', () => {
    expect(schema.safeParse({ ...data, privateEgress: ['127.0.0.1:9000'] }).success).toBe(true);
    expect(schema.safeParse(data).success).toBe(true);
  });

  it('refuses a private entry that is not on the allow-list', () => {
    const result = schema.safeParse({ ...data, privateEgress: ['10.0.0.1'] });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('is not an entry of capabilities.http.allow');
  });
});
