import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { describeRefusedSinkAddresses, refusedSinkAddresses } from '@forgeone/contracts';

/** Thrown when a tenant sink's host is (or resolves to) an address tenant sinks may not reach. */
export class SinkAddressRefusedError extends Error {
  override readonly name = 'SinkAddressRefusedError';
  readonly code = 'SIEM.SINK_ADDRESS_REFUSED';
}

/**
 * The connect-time half of the tenant sink address rule (the registry judges at add time): the
 * host is resolved when a connection opens, every address judged against REFUSED_ADDRESS_RANGES
 * and the blocks the platform opened (FORGEONE_SIEM_TENANT_ALLOW_PRIVATE), and the connection goes
 * to the address that was judged, so a name cannot resolve elsewhere between check and connect.
 * One refused address refuses the host (fail closed), and so does a name that does not resolve.
 */
export class SinkAddressGuard {
  constructor(
    private readonly allowed: readonly string[],
    private readonly resolveAll: (host: string) => Promise<readonly string[]> = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address),
  ) {}

  /** The address to connect to for `host`; throws {@link SinkAddressRefusedError} naming every refused address. */
  async address(host: string): Promise<string> {
    let addresses: readonly string[];
    if (isIP(host) !== 0) addresses = [host];
    else {
      try {
        addresses = await this.resolveAll(host);
      } catch (error) {
        throw new Error(`${host} does not resolve: ${(error as Error).message}`);
      }
    }
    if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
    const refused = refusedSinkAddresses(addresses, this.allowed);
    if (refused.length > 0) {
      throw new SinkAddressRefusedError(`a tenant SIEM sink may not send to a loopback, private, link-local or metadata address: ${describeRefusedSinkAddresses(host, refused)}`);
    }
    return addresses[0];
  }
}
