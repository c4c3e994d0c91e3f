import { describe, expect, it } from 'vitest';
import { batchMessages } from './message.batcher.js';

/** A source whose messages arrive when pushed, like a pull consumer's. */
function feed<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(...values: T[]) {
      queue.push(...values);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (queue.length) yield queue.shift()!;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('batchMessages', () => {
  it('batcher - what is already there goes in one batch, cut at maxMessages, in order', async () => {
    const source = feed<number>();
    source.push(...Array.from({ length: 10 }, (_, i) => i + 1));
    source.end();
    const batches = [];
    for await (const batch of batchMessages(source, { maxMessages: 4, maxWaitMs: 0 })) batches.push(batch);
    expect(batches).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]);
  });

  it('batcher - a batch waits maxWaitMs after its first message, and the message awaited when it closes opens the next', async () => {
    const source = feed<number>();
    const batches: number[][] = [];
    const done = (async () => {
      for await (const batch of batchMessages(source, { maxMessages: 100, maxWaitMs: 60 })) batches.push(batch);
    })();
    source.push(1);
    await sleep(10);
    source.push(2);
    await sleep(150);
    source.push(3);
    await sleep(150);
    source.push(4, 5);
    source.end();
    await done;
    expect(batches).toEqual([[1, 2], [3], [4, 5]]);
  });

  it('batcher - settings out of range are refused by name', async () => {
    const source = feed<number>();
    await expect(batchMessages(source, { maxMessages: 0, maxWaitMs: 5 }).next()).rejects.toThrow(/maxMessages must be a whole number from 1 to 10000, got 0/);
    await expect(batchMessages(source, { maxMessages: 5, maxWaitMs: -1 }).next()).rejects.toThrow(/maxWaitMs must be from 0 to 10000 ms, got -1/);
  });
});
