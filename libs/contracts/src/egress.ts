import ipaddr from 'ipaddr.js';

/** A block of addresses plugins may not reach over http unless their version was allowed it at publish. */
export interface RefusedAddressRange {
  /** The block in CIDR notation (`127.0.0.0/8`). */
  readonly cidr: string;
  /** What the block is (`loopback`), for messages. */
  readonly name: string;
}

/**
 * The one list of address blocks a plugin's http request may not reach (publish-time check of the
 * allow-list and call-time check of every resolved address): this machine, private networks,
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, reserved and
 * documentation blocks, and the IPv6 ways back into IPv4 (NAT64, 6to4, Teredo, IPv4-compatible
 * and -translated). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is judged as its IPv4 address.
 * More specific blocks come first, so a match names the narrowest one.
 */
export const REFUSED_ADDRESS_RANGES: readonly RefusedAddressRange[] = [
  { cidr: '0.0.0.0/8', name: '"this network" (0.0.0.0 reaches this machine)' },
  { cidr: '10.0.0.0/8', name: 'private network' },
  { cidr: '100.64.0.0/10', name: 'carrier-grade NAT' },
  { cidr: '127.0.0.0/8', name: 'loopback (this machine)' },
  { cidr: '169.254.0.0/16', name: 'link-local (cloud metadata at 169.254.169.254)' },
  { cidr: '172.16.0.0/12', name: 'private network' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', name: 'documentation' },
  { cidr: '192.88.99.0/24', name: '6to4 relay anycast' },
  { cidr: '192.168.0.0/16', name: 'private network' },
  { cidr: '198.18.0.0/15', name: 'benchmarking' },
  { cidr: '198.51.100.0/24', name: 'documentation' },
  { cidr: '203.0.113.0/24', name: 'documentation' },
  { cidr: '224.0.0.0/4', name: 'multicast' },
  { cidr: '240.0.0.0/4', name: 'reserved (and broadcast)' },
  { cidr: '::/128', name: 'unspecified (reaches this machine)' },
  { cidr: '::1/128', name: 'loopback (this machine)' },
  { cidr: '::/96', name: 'IPv4-compatible (deprecated)' },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated' },
  { cidr: '64:ff9b::/96', name: 'NAT64 (reaches IPv4 through a translator)' },
  { cidr: '64:ff9b:1::/48', name: 'local-use NAT64' },
  { cidr: '100::/64', name: 'discard-only' },
  { cidr: '2001::/32', name: 'Teredo (IPv4 tunnel)' },
  { cidr: '2001:db8::/32', name: 'documentation' },
  { cidr: '2002::/16', name: '6to4 (reaches IPv4 through a relay)' },
  { cidr: 'fc00::/7', name: 'unique local (private network)' },
  { cidr: 'fe80::/10', name: 'link-local' },
  { cidr: 'fec0::/10', name: 'site-local (deprecated)' },
  { cidr: 'ff00::/8', name: 'multicast' },
];

/** What an address that is not an IP address at all is judged as: refused (fail closed). */
export const UNPARSEABLE_ADDRESS: RefusedAddressRange = { cidr: 'not an IP address', name: 'unparseable' };

const PARSED = REFUSED_ADDRESS_RANGES.map((range) => ({ range, cidr: ipaddr.parseCIDR(range.cidr) }));

/**
 * The refused block an IP address (as a resolver or a URL gives it) falls in, or undefined when a
 * plugin may reach it. Anything that does not parse as an IP address is {@link UNPARSEABLE_ADDRESS}.
 */
export function refusedRangeOf(address: string): RefusedAddressRange | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, ''));
  } catch {
    return UNPARSEABLE_ADDRESS;
  }
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    const inner = refusedRangeOf((parsed as ipaddr.IPv6).toIPv4Address().toString());
    if (inner === undefined) return undefined;
    const [network, prefix] = inner.cidr.split('/');
    return { cidr: `::ffff:${network}/${96 + Number(prefix)}`, name: `IPv4-mapped ${inner.name}` };
  }
  for (const { range, cidr } of PARSED) {
    if (cidr[0].kind() === parsed.kind() && parsed.match(cidr as [ipaddr.IPv4 | ipaddr.IPv6, number])) return range;
  }
  return undefined;
}

// Names every resolver answers with this machine (RFC 6761 `localhost` and below it, Debian's hosts file).
const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);
const LOCAL_NAME_RANGE: RefusedAddressRange = { cidr: '127.0.0.0/8, ::1/128', name: 'loopback (a name for this machine)' };

/** An allow-list entry that names a refused address, and the block it falls in. */
export interface PrivateEgressEntry {
  /** The entry as written in `capabilities.http.allow`. */
  readonly entry: string;
  readonly range: RefusedAddressRange;
}

/**
 * Whether an http allow-list entry (`host`, `*.domain`, either with `:port`) names a refused
 * address: an IP literal in a refused block (judged as a URL would read it, so `2130706433` is
 * 127.0.0.1), or a name that always means this machine (`localhost`, `*.localhost`). Other names
 * are judged where they resolve, at call time.
 */
export function privateEgressOf(entry: string): PrivateEgressEntry | undefined {
  const host = entry.toLowerCase().replace(/:\d+$/, '');
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (LOCAL_NAMES.has(name) || name.endsWith('.localhost')) return { entry, range: LOCAL_NAME_RANGE };
  if (host !== name) return undefined;
  const literal = urlHostname(host);
  if (literal === undefined || !ipaddr.IPv4.isValidFourPartDecimal(literal)) return undefined;
  const range = refusedRangeOf(literal);
  return range === undefined ? undefined : { entry, range };
}

/** The entries of an http allow-list that name refused addresses (see {@link privateEgressOf}), in order. */
export function privateEgressEntries(allow: readonly string[]): PrivateEgressEntry[] {
  return allow.map(privateEgressOf).filter((p): p is PrivateEgressEntry => p !== undefined);
}

/** "`127.0.0.1:8080` is in 127.0.0.0/8 (loopback (this machine))" for a message. */
export function describePrivateEgress({ entry, range }: PrivateEgressEntry): string {
  return `"${entry}" is in ${range.cidr} (${range.name})`;
}

// The host a URL with this authority connects to: WHATWG URL turns `127.1` or `0x7f.0.0.1` into 127.0.0.1.
function urlHostname(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
}
