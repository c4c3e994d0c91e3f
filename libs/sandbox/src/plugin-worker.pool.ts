import { Worker } from 'node:worker_threads';
import type { GuestCallOutcome, GuestCallRequest } from './guest.runtime.js';
import { CHANNEL, progressTag, sandboxWorkerSource, type FromWorker, type ToWorker, type WorkerData } from './sandbox.worker.js';

/** Answers a host call from a worker; resolves to the status and data the guest sees. */
export type HostCallHandler = (fn: string, args: Uint8Array[]) => Promise<{ status: number; data?: Uint8Array }>;

export interface PoolOptions {
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
  readonly header: Int32Array;
  readonly payload: Uint8Array;
  ready: boolean;
  dead: boolean;
  current: (PendingCall & { readonly callId: number; readonly timer: NodeJS.Timeout; readonly extensions: number }) | undefined;
}

// How many more deadlines a call may wait while its worker has not started it or has already answered.
const MAX_DEADLINE_EXTENSIONS = 10;

let workerSource: string | undefined;

/**
 * Worker threads for one plugin version: at most `maxWorkers` calls run at once, each in its own
 * thread on a fresh instance; `maxQueued` more wait; beyond that a call is refused as overloaded.
 * A call past its deadline has its worker terminated (that is the only way to stop running wasm)
 * and a replacement is started when there is work for it.
 */
export class PluginWorkerPool {
  private readonly workers: PooledWorker[] = [];
  private readonly queue: PendingCall[] = [];
  private nextCallId = 1;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly module: unknown,
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
        return w.worker.terminate();
      }),
    );
  }

  private spawn(): PooledWorker {
    workerSource ??= sandboxWorkerSource();
    const channel = new SharedArrayBuffer(CHANNEL.headerBytes + this.options.channelBytes);
    const workerData: WorkerData = { module: this.module, channel };
    const worker = new Worker(workerSource, {
      eval: true,
      workerData,
      resourceLimits: { stackSizeMb: this.options.stackSizeMb },
      stdout: false,
      stderr: false,
    });
    // A worker must never keep the process alive on its own; calls in flight keep their timers.
    worker.unref();
    const w: PooledWorker = {
      worker,
      header: new Int32Array(channel, 0, 4),
      payload: new Uint8Array(channel, CHANNEL.headerBytes),
      ready: false,
      dead: false,
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
      case 'result': {
        const current = w.current;
        if (current === undefined || current.callId !== message.callId) return;
        clearTimeout(current.timer);
        w.current = undefined;
        current.resolve({ ok: true, outcome: message.outcome });
        this.pump(w);
        break;
      }
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

  private dispatch(w: PooledWorker, call: PendingCall): void {
    const callId = this.nextCallId++;
    const timer = setTimeout(() => this.timeOut(w, callId), call.timeoutMs);
    w.current = { ...call, callId, timer, extensions: 0 };
    const message: ToWorker = { type: 'call', callId, request: call.request };
    w.worker.postMessage(message);
  }

  private timeOut(w: PooledWorker, callId: number): void {
    const current = w.current;
    if (current === undefined || current.callId !== callId) return;
    // The deadline bounds the guest's run. On a busy host the timer can fire while the worker has not
    // been scheduled to start the call yet, or after it posted a result this thread has not read yet
    // (timers run before messages in the event loop): neither is the guest running over its time, and
    // failing the call would fail it for the host's load (seen in hot swaps, when a new version's
    // workers start while calls pour in). Look again one deadline later, a bounded number of times.
    if (Atomics.load(w.header, CHANNEL.progress) !== progressTag(callId) && current.extensions < MAX_DEADLINE_EXTENSIONS) {
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
