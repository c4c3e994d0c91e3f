import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { SyslogTarget } from './siem.config.js';
import type { SiemEvent } from './siem-event.js';
import { SyslogCefRenderer, syslogToken } from './syslog.format.js';
import type { SinkAddressGuard } from './sink-address.guard.js';
import type { SinkTransport } from './sink.transport.js';

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * RFC 5424 messages carrying CEF over one TCP (or TLS, RFC 5425) connection with RFC 6587
 * octet-counting framing. Written by hand: the syslog packages on npm frame with newlines or speak
 * UDP, and none pins a CA; the framing is one line of code.
 *
 * Plain syslog has no acknowledgement, so a frame written to the kernel may still be lost when the
 * receiver dies. What was written in the last `resendWindowMs` before a failure is kept (the events,
 * rendered again only if needed, or the frames given), however long the receiver stays down, and sent
 * again first on the next connection: a receiver restart then costs duplicates (same event id, same
 * line), not events.
 */
export class SyslogTransport implements SinkTransport {
  private socket: Socket | undefined;
  private broken = false;
  private recent: { at: number; events?: readonly SiemEvent[]; frames?: Buffer }[] = [];
  /** Where a batch's frames are encoded, reused from batch to batch (grown to the largest batch). */
  private scratch: Buffer = Buffer.allocUnsafe(64 * 1024);
  /** True while the scratch holds frames the socket has not taken yet. */
  private scratchInFlight = false;
  private readonly renderer: SyslogCefRenderer;

  constructor(
    private readonly target: SyslogTarget,
    hostname: string,
    private readonly resendWindowMs = 3_000,
    /** A tenant sink's address rule, judged at every connect; absent for platform sinks (the operator configured them). */
    private readonly guard?: SinkAddressGuard,
  ) {
    this.renderer = new SyslogCefRenderer(syslogToken(hostname, 255));
  }

  /** The frames of `events`, one octet-counted RFC 5424 message each, in a buffer of their own. */
  render(events: readonly SiemEvent[]): Buffer {
    if (!this.scratchInFlight) return Buffer.from(this.encodeInScratch(events));
    const { out, length } = encode(this.renderer, events, Buffer.allocUnsafe(64 * 1024));
    return Buffer.from(out.subarray(0, length));
  }

  /** The frames of `events` in the scratch buffer, valid until the next call: a batch allocates nothing of its own. */
  private encodeInScratch(events: readonly SiemEvent[]): Buffer {
    // Kept when it had to grow: the next batch is likely as large.
    const { out, length } = encode(this.renderer, events, this.scratch);
    this.scratch = out;
    return out.subarray(0, length);
  }

  async deliver(events: readonly SiemEvent[]): Promise<void> {
    await this.send({ at: Date.now(), events: events.slice() });
  }

  /** Writes already rendered frames (the benchmark's baseline shares this path). */
  async writeFrames(frames: Buffer): Promise<void> {
    await this.send({ at: Date.now(), frames });
  }

  private async send(batch: { at: number; events?: readonly SiemEvent[]; frames?: Buffer }): Promise<void> {
    // The window is counted back from the last delivery on a healthy connection: while the receiver is
    // down (however long), what was written just before it went down stays kept for the next connection.
    if (!this.broken && this.socket !== undefined && !this.socket.destroyed && this.socket.writable) this.recent = this.recent.filter((r) => batch.at - r.at < this.resendWindowMs);
    const socket = await this.connected();
    if (this.broken) {
      // First delivery on a new connection after a failure: what may have been lost goes again.
      this.broken = false;
      for (const again of this.recent) await this.writeBatch(socket, again);
    }
    await this.writeBatch(socket, batch);
    this.recent.push(batch);
  }

  private async writeBatch(socket: Socket, { events, frames }: { events?: readonly SiemEvent[]; frames?: Buffer }): Promise<void> {
    if (frames) return write(socket, frames);
    if (!events) return;
    // The socket holds on to what it is given until its callback: a second batch while the scratch is
    // still in flight gets a buffer of its own.
    if (this.scratchInFlight) return write(socket, this.render(events));
    this.scratchInFlight = true;
    try {
      await write(socket, this.encodeInScratch(events));
    } finally {
      this.scratchInFlight = false;
    }
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

/**
 * `events` as octet-counted frames, each message encoded straight into `out` (one UTF-8 pass, no joined
 * string), grown into a larger buffer when it runs out: the frames are the first `length` bytes of `out`.
 */
function encode(renderer: SyslogCefRenderer, events: readonly SiemEvent[], out: Buffer): { out: Buffer; length: number } {
  let at = 0;
  for (const e of events) {
    const message = renderer.message(e);
    // The count's width is guessed from the UTF-16 length (exact for ASCII); UTF-8 takes at most 3 bytes a unit.
    const width = decimalDigits(message.length) + 1;
    const room = width + 1 + message.length * 3;
    if (out.length - at < room) out = grown(out, at, room);
    const bytes = out.write(message, at + width, 'utf8');
    const countLength = decimalDigits(bytes) + 1;
    if (countLength !== width) out.copyWithin(at + countLength, at + width, at + width + bytes);
    // The count's digits and space written byte by byte: a string and a native write per message cost more.
    out[at + countLength - 1] = SPACE;
    for (let k = at + countLength - 2, n = bytes; k >= at; k--, n = Math.floor(n / 10)) out[k] = DIGIT_ZERO + (n % 10);
    at += countLength + bytes;
  }
  return { out, length: at };
}

const SPACE = 0x20;
const DIGIT_ZERO = 0x30;

function decimalDigits(n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
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
