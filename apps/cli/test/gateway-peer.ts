import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}
export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly raw?: string;
}

/** A real HTTP server on an ephemeral port that answers the way the gateway's API v1 does. */
export async function startGatewayPeer(answer: (request: Received) => Answer | undefined) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
      received.push(request);
      const reply = answer(request);
      if (!reply) return; // leave the request hanging
      const payload = reply.raw ?? JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': reply.raw ? 'text/html' : 'application/json' }).end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type GatewayPeer = Awaited<ReturnType<typeof startGatewayPeer>>;
