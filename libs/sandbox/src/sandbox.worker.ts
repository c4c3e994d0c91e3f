// The worker thread that runs plugin calls. Workers are started from source text (`eval`) so the
// same code runs from src under the test runner and from dist in production; like the runtime,
// `sandboxWorkerMain` must stay self-contained.
import type { MessagePort } from 'node:worker_threads';
import { createGuestRuntime, type GuestCallOutcome, type GuestCallRequest, type GuestModulePlan, type GuestRuntime } from './guest.runtime.js';

/**
 * Layout of the SharedArrayBuffer shared with one worker: Int32 slots, then the host call payload.
 * [0] host call state (0 = waiting, 1 = answered), [1] host call status, [2] host call data length,
 * [3] doorbell: the main thread increments it for every call it puts on the call port,
 * [4] finished: the id of the last call whose result is ready, [7] started: the id of the call the
 * guest is running (set before it starts), [5] where it is (1: in the channel,
 * 0: in a 'result' message), [6] output length of a result in the channel, [14] watched: the id of
 * the call the main thread is busy-waiting for (a result in the channel for it needs no 'done'
 * message; the main thread clears it before it stops watching); Float64s at byte 64
 * and 72 hold its fuel and how long the call ran in the worker (µs), and at byte 80 when the main
 * thread rang the doorbell for its latest call (`performance.timeOrigin + performance.now()`, ms),
 * and at byte 88 the size of the instance's memory when a result in the channel ended (bytes). They
 * sit after the Int32 slots: at byte 56 the memory size shared its bytes with [14] watched.
 * A plain success (output, no logs or metrics) travels in the channel, so the main thread can take
 * it without a message when it is waiting for it.
 */
export const CHANNEL = {
  headerBytes: 96,
  state: 0,
  status: 1,
  length: 2,
  doorbell: 3,
  finished: 4,
  inChannel: 5,
  outputLength: 6,
  started: 7,
  watched: 14,
  fuelOffset: 64,
} as const;

export interface WorkerData {
  readonly module: unknown;
  readonly plan: GuestModulePlan;
  readonly channel: SharedArrayBuffer;
  /** Calls arrive here; the worker takes them synchronously when the doorbell rings. */
  readonly calls: MessagePort;
  /** How long the worker watches the doorbell before sleeping, when calls have been coming that close together (µs). */
  readonly spinMicros: number;
}

/**
 * A call as sent to a worker. `granted` and `config` are left out when they are the same objects as
 * in the worker's previous call (they are per plugin version, rarely per call), so each call
 * serialises only what changes.
 */
export type ToWorker = {
  readonly type: 'call';
  readonly callId: number;
  readonly request: Omit<GuestCallRequest, 'granted' | 'config'> & Partial<Pick<GuestCallRequest, 'granted' | 'config'>>;
};

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly callId: number; readonly outcome: GuestCallOutcome }
  /** The result is in the channel (see CHANNEL). */
  | { readonly type: 'done'; readonly callId: number }
  | { readonly type: 'hostcall'; readonly callId: number; readonly fn: string; readonly args: Uint8Array[] };

interface Port {
  postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
}

type ReceiveSync = (port: MessagePort) => { message: ToWorker } | undefined;

/**
 * Entry point inside the worker: a loop that sleeps on the doorbell (Atomics.wait), takes the call
 * from its port synchronously, runs it, replies, and only then resets the instance, so the reset is
 * not on the caller's path. Skipping the worker's event loop saves a wake-up per call.
 */
export function sandboxWorkerMain(port: Port, data: WorkerData, createRuntime: () => GuestRuntime, receive: ReceiveSync): void {
  const runtime = createRuntime();
  // Literal offsets (CHANNEL.fuelOffset, CHANNEL.headerBytes): this function runs in the worker, without the module scope.
  const header = new Int32Array(data.channel, 0, 16);
  const numbers = new Float64Array(data.channel, 64, 4);
  const payload = new Uint8Array(data.channel, 96);
  let callId = 0;
  const bridge = {
    call(fn: string, args: readonly Uint8Array[]): { status: number; data: Uint8Array | undefined } {
      // A value the channel could not carry back to a kv_get is refused before it is copied: -5 (HOST_STATUS.tooLarge).
      if (fn === 'kv_set' && args[1].length > payload.length) return { status: -5, data: undefined };
      Atomics.store(header, 0, 0);
      port.postMessage({ type: 'hostcall', callId, fn, args: args as Uint8Array[] });
      // Blocks this thread only; the deadline on the main thread still ends a call whose hook never answers.
      Atomics.wait(header, 0, 0);
      const status = Atomics.load(header, 1);
      const length = Atomics.load(header, 2);
      return { status, data: status === 0 ? payload.slice(0, length) : undefined };
    },
  };
  port.postMessage({ type: 'ready' });
  let granted: readonly string[] = [];
  let config: Readonly<Record<string, string>> = {};
  let seen = 0;
  // Waking a sleeping thread costs tens of microseconds (more on an idle virtual machine); when calls
  // follow each other closely the worker watches the doorbell a little before it sleeps. The gap is
  // from the end of one call to the ring for the next, both on the absolute clock: timing it to this
  // thread's wake-up would count the wake-up itself, and a worker that once slept through a gap
  // would never watch again on a machine slow to wake threads.
  const now = (): number => performance.timeOrigin + performance.now();
  let gapMicros = Number.POSITIVE_INFINITY;
  let idleSince = 0;
  for (;;) {
    if (gapMicros < data.spinMicros) {
      const until = performance.now() + data.spinMicros / 1000;
      while (Atomics.load(header, 3) === seen && performance.now() < until);
    }
    Atomics.wait(header, 3, seen);
    gapMicros = (numbers[2] - idleSince) * 1000;
    seen = Atomics.load(header, 3);
    for (let received = receive(data.calls); received !== undefined; received = receive(data.calls)) {
      const message = received.message;
      if (message.type !== 'call') continue;
      callId = message.callId;
      const sent = message.request;
      if (sent.granted !== undefined) granted = sent.granted;
      if (sent.config !== undefined) config = sent.config;
      const request: GuestCallRequest = {
        handler: sent.handler,
        input: sent.input,
        fuel: sent.fuel,
        maxOutputBytes: sent.maxOutputBytes,
        granted,
        config,
        nowMs: sent.nowMs,
        memoryMaxPages: sent.memoryMaxPages,
      };
      Atomics.store(header, 7, callId);
      const began = performance.now();
      const outcome = runtime.invoke(data.module, data.plan, request, bridge);
      numbers[1] = (performance.now() - began) * 1000;
      const output = outcome.output;
      if (outcome.ok && output !== undefined && output.length <= payload.length && outcome.logs.length === 0 && outcome.metrics.length === 0) {
        payload.set(output);
        numbers[0] = outcome.fuelUsed;
        numbers[3] = outcome.memoryBytes ?? 0;
        Atomics.store(header, 6, output.length);
        Atomics.store(header, 5, 1);
        Atomics.store(header, 4, callId);
        // A main thread still watching sees the result itself: a message would only wake it again.
        if (Atomics.load(header, 14) !== callId) port.postMessage({ type: 'done', callId });
      } else {
        Atomics.store(header, 5, 0);
        Atomics.store(header, 4, callId);
        port.postMessage({ type: 'result', callId, outcome }, output !== undefined ? [output.buffer as ArrayBuffer] : []);
      }
      runtime.recycle();
    }
    idleSince = now();
  }
}

/** Source text of a worker: the runtime and the entry point, wired to `node:worker_threads`. */
export function sandboxWorkerSource(): string {
  return [
    "'use strict';",
    "const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');",
    `const createGuestRuntime = ${createGuestRuntime.toString()};`,
    `(${sandboxWorkerMain.toString()})(parentPort, workerData, createGuestRuntime, receiveMessageOnPort);`,
  ].join('\n');
}
