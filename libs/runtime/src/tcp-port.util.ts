import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Asks the OS for a free TCP port on the host (listen on port 0, read it, release it). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error(`could not get a free port on ${host}`))));
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export async function isTcpPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls host:port until it accepts connections. `abortIf` is checked between attempts so a
 * caller can give up early (the process meant to listen has already exited).
 */
export async function waitForTcpPort(
  host: string,
  port: number,
  timeoutMs: number,
  abortIf: () => Error | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const aborted = abortIf();
    if (aborted) throw aborted;
    if (await isTcpPortOpen(host, port, 500)) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}
