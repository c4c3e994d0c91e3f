import { Agent, request } from 'node:https';
import { hecEnvelope, renderOcsf } from './ocsf.format.js';
import type { HecTarget } from './siem.config.js';
import type { SiemEvent } from './siem-event.js';
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
  ) {
    this.agent = new Agent({ keepAlive: true, ca: target.ca, maxSockets: 1 });
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

  private post(body: string): Promise<void> {
    const url = new URL(this.target.url);
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
