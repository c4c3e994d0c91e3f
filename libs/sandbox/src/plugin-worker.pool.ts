import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { GuestCallOutcome, GuestCallRequest, GuestModulePlan } from './guest.runtime.js';
import { CHANNEL, sandboxWorkerSource, type FromWorker, type ToWorker, type WorkerData } from './sandbox.worker.js';

/** Answers a host call from a worker; resolves to the status and data the guest sees. */
export type HostCallHandler = (fn: string, args: Uint8Array[]) => Promise<{ status: number; data?: Uint8Array }>;

export interface PoolOptions {
  /**
   * How long the calling thread may busy-wait for a call's result, in microseconds, when the pool has
   * nothing else to do and recent calls finished within that time (0 = never). A hand-off to a
   * worker and back costs two thread wake-ups; waiting actively saves the second one for short calls.
   */
  readonly spinMicros?: number;
  readonly maxWorkers: number;
  readonly maxQueued: number;
  readonly stackSizeMb: number;
  readonly channelBytes: number;
}

/** Why a call did not produce a guest outcome. */
export type PoolFailure = { readonly kind: 'timeout' } | { readonly kind: 'overloaded'; readonly queued: number } | { readonly kind: 'crashed'; readonly message: string } | { readonly kind: 'closed' };

export type PoolResult = { readonly ok: true; readonly outcome: GuestCallOutcome } | { readonly ok: false; readonly failure: PoolFailure };

interface PendingCall {
  readonly request: GuestCallRequest;
  readonly timeoutMs: number;
  readonly onHostCall: HostCallHandler;
  readonly resolve: (result: PoolResult) => void;
}

interface PooledWorker {
  readonly worker: Worker;
  readonly calls: MessagePort;
  readonly header: Int32Array;
  /** [0] fuel of a result in the channel, [1] how long the last call ran in the worker (µs). */
  readonly numbers: Float64Array;
  readonly payload: Uint8Array;
  ready: boolean;
  dead: boolean;
  /** What this worker last received, so unchanged grants and config are not sent again. */
  sentGranted: readonly string[] | undefined;
  sentConfig: Readonly<Record<string, string>> | undefined;
  current: (PendingCall & { readonly callId: number; readonly timer: NodeJS.Timeout; readonly extensions: number }) | undefined;
}

// How many more deadlines a call may wait while its worker has not been scheduled to start it.
const MAX_DEADLINE_EXTENSIONS = 10;
// Most calls dispatched without busy-waiting after waits that did not pay off (see awaitInChannel).
// Measured on a 2-core VM, sequential 1 KiB calls: idle, p50 25-37 µs against 24-77 µs with 64;
// with both cores loaded by other processes, the same throughput as with 64 (5.8-6.0k calls/s).
const MAX_SPIN_BACKOFF = 4;

let workerSource: string | undefined;

/**
 * Worker threads for one plugin version: at most `maxWorkers` calls run at once, each in its own
 * thread on an instance reset to its initial state; `maxQueued` more wait; beyond that a call is refused as overloaded.
 * A call past its deadline has its worker terminated (that is the only way to stop running wasm)
 * and a replacement is started when there is work for it.
 */
export class PluginWorkerPool {
  private readonly workers: PooledWorker[] = [];
  private readonly queue: PendingCall[] = [];
  private nextCallId = 1;
  /** Moving average of how long calls run in the worker (µs): busy-waiting only pays for short ones. */
  private recentMicros = 0;
  /** Calls to dispatch without busy-waiting after a wait that did not pay off (doubles each time). */
  private spinBackoff = 0;
  private skipSpins = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly module: unknown,
    private readonly plan: GuestModulePlan,
    private readonly options: PoolOptions,
  ) {}

  get size(): number {
    return this.workers.length;
  }

  get busy(): number {
    return this.workers.filter((w) => w.current !== undefined).length;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Starts workers up to `count` (at most `maxWorkers`) and waits until they can take calls (each costs tens of milliseconds). */
  async prewarm(count = 1): Promise<void> {
    const wanted = Math.min(Math.max(count, 1), this.options.maxWorkers) - this.workers.length;
    const started = Array.from({ length: Math.max(wanted, 0) }, () => this.spawn());
    await Promise.all(
      started.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const onMessage = (message: FromWorker): void => {
              if (message.type === 'ready') {
                w.worker.off('message', onMessage);
                resolve();
              }
            };
            w.worker.on('message', onMessage);
            w.worker.once('error', reject);
          }),
      ),
    );
  }

  run(request: GuestCallRequest, timeoutMs: number, onHostCall: HostCallHandler): Promise<PoolResult> {
    if (this.closed) return Promise.resolve({ ok: false, failure: { kind: 'closed' } });
    return new Promise((resolve) => {
      const call: PendingCall = { request, timeoutMs, onHostCall, resolve };
      const idle = this.workers.find((w) => w.ready && !w.dead && w.current === undefined);
      if (idle !== undefined) {
        this.dispatch(idle, call);
        return;
      }
      if (this.queue.length >= this.options.maxQueued) {
        resolve({ ok: false, failure: { kind: 'overloaded', queued: this.queue.length } });
        return;
      }
      this.queue.push(call);
      // Start another worker only if the ones already starting cannot take every queued call.
      const starting = this.workers.filter((w) => !w.ready).length;
      if (starting < this.queue.length && this.workers.length < this.options.maxWorkers) this.spawn();
    });
  }

  /** Waits for running and queued calls to finish, then stops the workers. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.workers.some((w) => w.current !== undefined)) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const call of this.queue.splice(0)) call.resolve({ ok: false, failure: { kind: 'closed' } });
    const workers = this.workers.splice(0);
    await Promise.all(
      workers.map((w) => {
        if (w.current !== undefined) {
          clearTimeout(w.current.timer);
          w.current.resolve({ ok: false, failure: { kind: 'closed' } });
          w.current = undefined;
        }
        w.dead = true;
        w.calls.close();
        return w.worker.terminate();
      }),
    );
  }

  private spawn(): PooledWorker {
    workerSource ??= sandboxWorkerSource();
    const channel = new SharedArrayBuffer(CHANNEL.headerBytes + this.options.channelBytes);
    const { port1, port2 } = new MessageChannel();
    const workerData: WorkerData = { module: this.module, plan: this.plan, channel, calls: port2, spinMicros: this.options.spinMicros ?? 0 };
    const worker = new Worker(workerSource, {
      eval: true,
      workerData,
      transferList: [port2],
      resourceLimits: { stackSizeMb: this.options.stackSizeMb },
      stdout: false,
      stderr: false,
    });
    // A worker must never keep the process alive on its own; calls in flight keep their timers.
    worker.unref();
    port1.unref();
    const w: PooledWorker = {
      worker,
      calls: port1,
      header: new Int32Array(channel, 0, CHANNEL.headerBytes / 4),
      numbers: new Float64Array(channel, CHANNEL.fuelOffset, 4),
      payload: new Uint8Array(channel, CHANNEL.headerBytes),
      ready: false,
      dead: false,
      sentGranted: undefined,
      sentConfig: undefined,
      current: undefined,
    };
    worker.on('message', (message: FromWorker) => this.onMessage(w, message));
    worker.on('error', (error: Error) => this.retire(w, { kind: 'crashed', message: error.message }));
    worker.on('exit', (code) => this.retire(w, { kind: 'crashed', message: `the worker exited with code ${code}` }));
    this.workers.push(w);
    return w;
  }

  private onMessage(w: PooledWorker, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        w.ready = true;
        this.pump(w);
        break;
      case 'result':
      case 'done':
        if (w.current?.callId === message.callId) this.complete(w, message.type === 'result' ? message.outcome : undefined);
        break;
      case 'hostcall': {
        const current = w.current;
        if (current === undefined || current.callId !== message.callId) return;
        const callId = message.callId;
        current
          .onHostCall(message.fn, message.args)
          .catch(() => ({ status: -3 }))
          .then((answer: { status: number; data?: Uint8Array }) => {
            // A late answer for a call that already timed out must not wake a replacement.
            if (w.dead || w.current?.callId !== callId) return;
            let status = answer.status;
            let length = 0;
            if (status === 0 && answer.data !== undefined) {
              if (answer.data.length > w.payload.length) status = -5;
              else {
                w.payload.set(answer.data);
                length = answer.data.length;
              }
            }
            Atomics.store(w.header, CHANNEL.status, status);
            Atomics.store(w.header, CHANNEL.length, length);
            Atomics.store(w.header, CHANNEL.state, 1);
            Atomics.notify(w.header, CHANNEL.state);
          });
        break;
      }
    }
  }

  /** Resolves the worker's current call with its outcome, from a message or from the channel. */
  private complete(w: PooledWorker, outcome: GuestCallOutcome | undefined): void {
    const current = w.current!;
    clearTimeout(current.timer);
    w.current = undefined;
    const micros = w.numbers[1];
    this.recentMicros = this.recentMicros === 0 ? micros : this.recentMicros * 0.9 + micros * 0.1;
    current.resolve({ ok: true, outcome: outcome ?? this.channelOutcome(w) });
    this.pump(w);
  }

  private channelOutcome(w: PooledWorker): GuestCallOutcome {
    const length = Atomics.load(w.header, CHANNEL.outputLength);
    return { ok: true, output: w.payload.slice(0, length), fuelUsed: w.numbers[0], memoryBytes: w.numbers[3], logs: [], metrics: [] };
  }

  /**
   * Busy-waits for a short call's result in the channel. A wait that times out (a loaded machine
   * where the worker is slow to wake) makes the pool skip busy-waiting for 1, 2 or 4 calls
   * (MAX_SPIN_BACKOFF): on a loaded machine that keeps wasted waits to about one call in five,
   * while on an idle one a worker that was late once is waited for again soon, instead of its
   * results being picked up through the slower message path for dozens of calls.
   */
  private awaitInChannel(w: PooledWorker, callId: number, spinMicros: number): void {
    const until = performance.now() + spinMicros / 1000;
    // While this is set the worker sends no 'done' for the call: this thread takes the result itself.
    Atomics.store(w.header, CHANNEL.watched, callId);
    do {
      if (this.takeFromChannel(w, callId)) {
        this.spinBackoff = 0;
        return;
      }
    } while (performance.now() < until);
    Atomics.store(w.header, CHANNEL.watched, 0);
    // A worker that finished before it saw the flag cleared sent no message: look once more.
    if (this.takeFromChannel(w, callId)) return;
    this.spinBackoff = Math.min(Math.max(1, this.spinBackoff * 2), MAX_SPIN_BACKOFF);
    this.skipSpins = this.spinBackoff;
  }

  /** Completes the call if its result is ready; true when there is nothing more to wait for here. */
  private takeFromChannel(w: PooledWorker, callId: number): boolean {
    if (Atomics.load(w.header, CHANNEL.finished) !== callId) return false;
    // A result that did not fit the channel comes in a message, which is always sent.
    if (Atomics.load(w.header, CHANNEL.inChannel) === 1) this.complete(w, undefined);
    return true;
  }

  private dispatch(w: PooledWorker, call: PendingCall): void {
    const callId = this.nextCallId++;
    const timer = setTimeout(() => this.timeOut(w, callId), call.timeoutMs);
    w.current = { ...call, callId, timer, extensions: 0 };
    const { granted, config, ...rest } = call.request;
    const request: ToWorker['request'] = {
      ...rest,
      ...(granted !== w.sentGranted ? { granted } : {}),
      ...(config !== w.sentConfig ? { config } : {}),
    };
    w.sentGranted = granted;
    w.sentConfig = config;
    const message: ToWorker = { type: 'call', callId, request };
    w.calls.postMessage(message);
    w.numbers[2] = performance.timeOrigin + performance.now();
    Atomics.add(w.header, CHANNEL.doorbell, 1);
    Atomics.notify(w.header, CHANNEL.doorbell);
    const spin = this.options.spinMicros ?? 0;
    // Only when nothing else waits: a busy-waiting thread serves nobody else meanwhile.
    if (spin > 0 && this.recentMicros < spin / 2 && this.queue.length === 0 && this.busy === 1) {
      if (this.skipSpins > 0) this.skipSpins--;
      else this.awaitInChannel(w, callId, spin);
    }
  }

  private timeOut(w: PooledWorker, callId: number): void {
    const current = w.current;
    if (current === undefined || current.callId !== callId) return;
    // The deadline bounds the guest's run, not the host's backlog. On a busy machine the timer can
    // fire after the guest answered but before this thread read the answer (timers run before
    // messages), or before the worker thread was even scheduled to start the call: neither is the
    // guest overrunning. The first waits for its message; the second gets up to
    // MAX_DEADLINE_EXTENSIONS more deadlines to start.
    if (Atomics.load(w.header, CHANNEL.finished) === callId) return;
    if (Atomics.load(w.header, CHANNEL.started) !== callId && current.extensions < MAX_DEADLINE_EXTENSIONS) {
      w.current = { ...current, timer: setTimeout(() => this.timeOut(w, callId), current.timeoutMs), extensions: current.extensions + 1 };
      return;
    }
    w.current = undefined;
    current.resolve({ ok: false, failure: { kind: 'timeout' } });
    this.remove(w);
    void w.worker.terminate();
    this.replenish();
  }

  private retire(w: PooledWorker, failure: PoolFailure): void {
    if (w.dead) return;
    const current = w.current;
    w.current = undefined;
    if (current !== undefined) {
      clearTimeout(current.timer);
      current.resolve({ ok: false, failure });
    }
    this.remove(w);
    void w.worker.terminate();
    this.replenish();
  }

  private remove(w: PooledWorker): void {
    w.dead = true;
    w.calls.close();
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  private replenish(): void {
    if (this.closed) return;
    if (this.queue.length > 0 && this.workers.length < this.options.maxWorkers) this.spawn();
    this.notifyIdle();
  }

  private pump(w: PooledWorker): void {
    const next = this.queue.shift();
    if (next !== undefined) this.dispatch(w, next);
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.queue.length === 0 && this.workers.every((w) => w.current === undefined)) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
