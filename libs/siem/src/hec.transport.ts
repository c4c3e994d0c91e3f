import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { Agent, request } from 'node:https';
import { hecEnvelope, renderOcsf } from './ocsf.format.js';
import type { HecTarget } from './siem.config.js';
import type { SiemEvent } from './siem-event.js';
import type { SinkAddressGuard } from './sink-address.guard.js';
import type { SinkTransport } from './sink.transport.js';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * OCSF events in the Splunk HEC envelope, `batchEvents` per POST (one envelope a line), over HTTPS
 * trusting only the pinned CA. A batch counts as delivered on a 2xx answer only. The token never
 * appears in an error.
 */
export class HecTransport implements SinkTransport {
  private readonly agent: Agent;

  constructor(
    private readonly target: HecTarget,
    private readonly hostname: string,
    /** A tenant sink's address rule: judged in the socket's own lookup (and for an IP literal before the request). */
    private readonly guard?: SinkAddressGuard,
  ) {
    this.agent = new Agent({ keepAlive: true, ca: target.ca, maxSockets: 1, ...(guard ? { lookup: guardedLookup(guard) } : {}) });
  }

  async deliver(events: readonly SiemEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += this.target.batchEvents) {
      const body = events
        .slice(i, i + this.target.batchEvents)
        .map((e) => hecEnvelope(e, renderOcsf(e), this.hostname))
        .join('\n');
      await this.post(body);
    }
  }

  private async post(body: string): Promise<void> {
    const url = new URL(this.target.url);
    // Sockets skip the lookup for an IP literal, so the guard judges it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (this.guard && isIP(literal) !== 0) await this.guard.address(literal);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          ca: this.target.ca,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { Authorization: `Splunk ${this.target.token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          let answer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (answer = (answer + chunk).slice(0, 1_000)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`collector ${url.host}${url.pathname} answered ${status}: ${answer.slice(0, 200)}`));
          });
          res.on('error', (error) => reject(new Error(`collector ${url.host}: ${error.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (error) => reject(new Error(`collector ${url.host}${url.pathname}: ${error.message}`)));
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

function guardedLookup(guard: SinkAddressGuard): LookupFunction {
  return (hostname, options, callback) => {
    guard.address(hostname).then(
      (address) => {
        const family = isIP(address);
        if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}
