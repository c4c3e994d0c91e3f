// The worker thread that runs plugin calls. Workers are started from source text (`eval`) so the
// same code runs from src under the test runner and from dist in production; like the runtime,
// `sandboxWorkerMain` must stay self-contained.
import { createGuestRuntime, type GuestCallOutcome, type GuestCallRequest, type GuestRuntime } from './guest.runtime.js';

/** Layout of the SharedArrayBuffer through which the main thread answers host calls. */
export const CHANNEL = {
  /**
   * Int32 slots: [0] state (0 = waiting, 1 = answered), [1] status, [2] data length, [3] progress of
   * the current call: its {@link progressTag} once the guest runs, the negated tag once its result is posted.
   */
  headerBytes: 16,
  state: 0,
  status: 1,
  length: 2,
  progress: 3,
} as const;

/** A call id folded into a positive Int32 for the progress slot (the worker repeats this formula inline). */
export function progressTag(callId: number): number {
  return (callId % 0x3fffffff) + 1;
}

export interface WorkerData {
  readonly module: unknown;
  readonly channel: SharedArrayBuffer;
}

export type ToWorker = { readonly type: 'call'; readonly callId: number; readonly request: GuestCallRequest };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly callId: number; readonly outcome: GuestCallOutcome }
  | { readonly type: 'hostcall'; readonly callId: number; readonly fn: string; readonly args: Uint8Array[] };

interface Port {
  on(event: 'message', listener: (message: ToWorker) => void): void;
  postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
}

/** Entry point inside the worker: serves calls one at a time on a fresh instance each. */
export function sandboxWorkerMain(port: Port, data: WorkerData, createRuntime: () => GuestRuntime): void {
  const runtime = createRuntime();
  const header = new Int32Array(data.channel, 0, 4);
  const payload = new Uint8Array(data.channel, 16);
  let callId = 0;
  const bridge = {
    call(fn: string, args: readonly Uint8Array[]): { status: number; data: Uint8Array | undefined } {
      Atomics.store(header, 0, 0);
      port.postMessage({ type: 'hostcall', callId, fn, args: args as Uint8Array[] });
      // Blocks this thread only; the deadline on the main thread still ends a call whose hook never answers.
      Atomics.wait(header, 0, 0);
      const status = Atomics.load(header, 1);
      const length = Atomics.load(header, 2);
      return { status, data: status === 0 ? payload.slice(0, length) : undefined };
    },
  };
  port.on('message', (message) => {
    if (message.type !== 'call') return;
    callId = message.callId;
    const tag = (callId % 0x3fffffff) + 1;
    // Tells the main thread's deadline when the guest really started and when its result is on the way.
    Atomics.store(header, 3, tag);
    const outcome = runtime.invoke(data.module, message.request, bridge);
    Atomics.store(header, 3, -tag);
    port.postMessage({ type: 'result', callId, outcome }, outcome.output !== undefined ? [outcome.output.buffer as ArrayBuffer] : []);
  });
  port.postMessage({ type: 'ready' });
}

/** Source text of a worker: the runtime and the entry point, wired to `node:worker_threads`. */
export function sandboxWorkerSource(): string {
  return [
    "'use strict';",
    "const { parentPort, workerData } = require('node:worker_threads');",
    `const createGuestRuntime = ${createGuestRuntime.toString()};`,
    `(${sandboxWorkerMain.toString()})(parentPort, workerData, createGuestRuntime);`,
  ].join('\n');
}
