import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HostResolver } from '@forgeone/registry-domain';

/**
 * Every address a sink's host resolves to now (the system resolver, as the forwarder's sockets use
 * it). A name that does not resolve answers no address, which the decider refuses.
 */
export const dnsHostResolver: HostResolver = {
  async resolve(host: string): Promise<readonly string[]> {
    if (isIP(host) !== 0) return [host];
    try {
      return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return [];
    }
  },
};
