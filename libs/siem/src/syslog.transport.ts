import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { renderCef } from './cef.format.js';
import type { SyslogTarget } from './siem.config.js';
import type { SiemEvent } from './siem-event.js';
import { syslogMessage, syslogToken } from './syslog.format.js';
import type { SinkAddressGuard } from './sink-address.guard.js';
import type { SinkTransport } from './sink.transport.js';

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * RFC 5424 messages carrying CEF over one TCP (or TLS, RFC 5425) connection with RFC 6587
 * octet-counting framing. Written by hand: the syslog packages on npm frame with newlines or speak
 * UDP, and none pins a CA; the framing is one line of code.
 *
 * Plain syslog has no acknowledgement, so a frame written to the kernel may still be lost when the
 * receiver dies. Frames written in the last `resendWindowMs` are kept, and sent again first on the
 * next connection after a failure: a receiver restart then costs duplicates (same event id), not
 * events.
 */
export class SyslogTransport implements SinkTransport {
  private socket: Socket | undefined;
  private broken = false;
  private recent: { at: number; frames: Buffer }[] = [];
  /** Where a batch's frames are encoded, reused from batch to batch (grown to the largest batch). */
  private scratch: Buffer = Buffer.allocUnsafe(64 * 1024);
  private readonly hostToken: string;

  constructor(
    private readonly target: SyslogTarget,
    hostname: string,
    private readonly resendWindowMs = 3_000,
    /** A tenant sink's address rule, judged at every connect; absent for platform sinks (the operator configured them). */
    private readonly guard?: SinkAddressGuard,
  ) {
    this.hostToken = syslogToken(hostname, 255);
  }

  /** The frames of `events`, one octet-counted RFC 5424 message each. */
  render(events: readonly SiemEvent[]): Buffer {
    // Each message is encoded straight into the scratch buffer (one UTF-8 pass, no joined string), and
    // the batch leaves as one exact copy: frames are kept for resending while the scratch is reused.
    let out = this.scratch;
    let at = 0;
    for (const e of events) {
      const message = syslogMessage(e, renderCef(e), this.hostToken);
      // The count's width is guessed from the UTF-16 length (exact for ASCII); UTF-8 takes at most 3 bytes a unit.
      const width = String(message.length).length + 1;
      const room = width + 1 + message.length * 3;
      if (out.length - at < room) out = this.scratch = grown(out, at, room);
      const bytes = out.write(message, at + width, 'utf8');
      const count = `${bytes} `;
      if (count.length !== width) out.copyWithin(at + count.length, at + width, at + width + bytes);
      out.write(count, at, 'latin1');
      at += count.length + bytes;
    }
    return Buffer.from(out.subarray(0, at));
  }

  async deliver(events: readonly SiemEvent[]): Promise<void> {
    await this.writeFrames(this.render(events));
  }

  /** Writes already rendered frames (the benchmark's baseline shares this path). */
  async writeFrames(frames: Buffer): Promise<void> {
    const now = Date.now();
    this.recent = this.recent.filter((r) => now - r.at < this.resendWindowMs);
    const socket = await this.connected();
    if (this.broken) {
      // First delivery on a new connection after a failure: what may have been lost goes again.
      this.broken = false;
      for (const { frames: again } of this.recent) await write(socket, again);
    }
    await write(socket, frames);
    this.recent.push({ at: now, frames });
  }

  private async connected(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return this.socket;
    if (this.socket) this.broken = true;
    this.socket = undefined;
    const socket = await open(this.target, this.guard ? await this.guard.address(this.target.host) : this.target.host);
    socket.setKeepAlive(true, 10_000);
    socket.setNoDelay(true);
    // Nothing is expected from the receiver; an error or a close marks the connection for replacement.
    socket.on('error', () => {
      this.broken = true;
      socket.destroy();
    });
    socket.on('close', () => {
      if (this.socket === socket) this.broken = true;
    });
    socket.on('data', () => undefined);
    this.socket = socket;
    return socket;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2_000).unref();
    });
  }
}

// `address` is where to connect (the guard's judged address, or the host itself); TLS still checks the certificate against the host.
function open(target: SyslogTarget, address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tlsConnect({ host: address, port: target.port, ca: target.ca, rejectUnauthorized: true, ...(isIP(target.host) ? {} : { servername: target.host }), checkServerIdentity: (_h, cert) => checkServerIdentity(target.host, cert) })
      : tcpConnect({ host: address, port: target.port });
    const timer = setTimeout(() => fail(new Error(`no connection to ${target.host}:${target.port} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`syslog ${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}: ${error.message}`));
    };
    socket.once('error', fail);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function grown(buffer: Buffer, used: number, room: number): Buffer {
  const bigger = Buffer.allocUnsafe(Math.max(buffer.length * 2, used + room));
  buffer.copy(bigger, 0, 0, used);
  return bigger;
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => (error ? reject(new Error(`syslog write failed: ${error.message}`)) : resolve()));
  });
}
