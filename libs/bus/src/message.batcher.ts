/** How a consumer groups messages into batches. */
export interface MessageBatching {
  /** Most messages in one batch. */
  readonly maxMessages: number;
  /** How long a batch waits for more after its first message arrived (0: only what is already there). */
  readonly maxWaitMs: number;
}

/** Throws a RangeError naming the setting that is out of range. */
export function checkMessageBatching(batching: MessageBatching): void {
  if (!Number.isSafeInteger(batching.maxMessages) || batching.maxMessages < 1 || batching.maxMessages > 10_000) {
    throw new RangeError(`batch maxMessages must be a whole number from 1 to 10000, got ${batching.maxMessages}`);
  }
  if (!Number.isFinite(batching.maxWaitMs) || batching.maxWaitMs < 0 || batching.maxWaitMs > 10_000) {
    throw new RangeError(`batch maxWaitMs must be from 0 to 10000 ms, got ${batching.maxWaitMs}`);
  }
}

const TIMED_OUT = Symbol('timed out');

/**
 * Groups `source` into batches in arrival order: each batch starts with the next message and takes
 * those that follow until it holds `maxMessages` or `maxWaitMs` have passed since its first one.
 * A message still awaited when a batch closes opens the next one, so none is lost or reordered.
 */
// Written here rather than streaming-iterables' batchWithTimeout: that one never ends its source when
// the reader stops early, and a JetStream consumer's close() waits for exactly that.
export async function* batchMessages<T>(source: AsyncIterable<T>, batching: MessageBatching): AsyncGenerator<T[], void, undefined> {
  checkMessageBatching(batching);
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  try {
    for (;;) {
      const first = await (pending ?? iterator.next());
      pending = undefined;
      if (first.done) return;
      const batch = [first.value];
      const deadline = Date.now() + batching.maxWaitMs;
      let ended = false;
      while (batch.length < batching.maxMessages) {
        pending ??= iterator.next();
        const next = await within(pending, deadline - Date.now());
        if (next === TIMED_OUT) break;
        pending = undefined;
        if (next.done) {
          ended = true;
          break;
        }
        batch.push(next.value);
      }
      yield batch;
      if (ended) return;
    }
  } finally {
    // Ends the source too when the reader stops early (a pull consumer's close waits for that).
    void iterator.return?.()?.catch(() => undefined);
  }
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), TIMED_OUT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
