// The hostile corpus (test/hostile/*.wat): each module ends in its typed error while a
// well-behaved plugin on the same host keeps answering concurrent calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, helloWasm, hostile, text } from '../test/wat.js';
import { SandboxHost } from './sandbox.host.js';
import type { SandboxCallResult, SandboxLimits } from './sandbox.types.js';

const LIMITS: SandboxLimits = { memoryMiB: 4, fuel: 5_000_000, timeoutMs: 2000, maxOutputBytes: 65536, maxConcurrency: 2 };
const HELLO = 'forgeone/hello@1.0.0';

async function load(host: SandboxHost, name: string, limits: Partial<SandboxLimits> = {}): Promise<string> {
  const key = `hostile/${name}@${JSON.stringify(limits)}`;
  await host.load({ key, wasm: await hostile(name), handlers: ['run'], capabilities: {}, limits: { ...LIMITS, ...limits } });
  return key;
}

function failure(result: SandboxCallResult): { code: string; message: string; violation: string | undefined } {
  if (result.ok) throw new Error(`expected a failure, got output ${text(result.output)}`);
  return { code: result.error.code, message: result.error.message, violation: result.violation };
}

describe('SandboxHost - hostile plugins', () => {
  const host = new SandboxHost({ workerStackSizeMb: 1 });
  let stop = false;
  let helloCalls: Promise<SandboxCallResult[]>;

  beforeAll(async () => {
    await host.load({
      key: HELLO,
      wasm: helloWasm(),
      handlers: ['greet'],
      capabilities: {},
      limits: { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 2000, maxOutputBytes: 65536, maxConcurrency: 2 },
    });
    // A steady stream of well-behaved calls runs beside every hostile test.
    helloCalls = (async () => {
      const results: SandboxCallResult[] = [];
      while (!stop) results.push(await host.call(HELLO, 'greet', bytes(`caller ${results.length}`)));
      return results;
    })();
  });

  afterAll(async () => {
    stop = true;
    await host.close();
  });

  it('infinite loop in a handler: stopped by fuel, deterministically', async () => {
    const key = await load(host, 'infinite-loop-handler');
    const [a, b] = await Promise.all([host.call(key, 'run', bytes('x')), host.call(key, 'run', bytes('x'))]);
    expect(failure(a)).toMatchObject({ code: 'SANDBOX.FUEL_EXHAUSTED', violation: 'fuel' });
    expect(a.fuelUsed).toBe(LIMITS.fuel);
    expect(b.fuelUsed).toBe(a.fuelUsed);
    expect(failure(host.runInline(key, 'run', bytes('x'))).code).toBe('SANDBOX.FUEL_EXHAUSTED');
  });

  it('infinite loop in a handler with a huge fuel budget: stopped by the deadline, worker replaced', async () => {
    const key = await load(host, 'infinite-loop-handler', { fuel: 1e12, timeoutMs: 150 });
    const started = performance.now();
    const result = await host.call(key, 'run', bytes('x'));
    expect(failure(result)).toMatchObject({ code: 'SANDBOX.TIMEOUT', violation: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.fuelUsed).toBeUndefined();
    // The pool replaced the terminated worker and still serves (and stops) calls.
    expect(failure(await host.call(key, 'run', bytes('x'), { fuel: 10_000 })).code).toBe('SANDBOX.FUEL_EXHAUSTED');
  });

  it('infinite loop in the start function: fuel, or the deadline, covers instantiation', async () => {
    const metered = await load(host, 'infinite-loop-start');
    expect(failure(await host.call(metered, 'run', bytes('x')))).toMatchObject({ code: 'SANDBOX.FUEL_EXHAUSTED', violation: 'fuel' });
    const deadline = await load(host, 'infinite-loop-start', { fuel: 1e12, timeoutMs: 150 });
    expect(failure(await host.call(deadline, 'run', bytes('x')))).toMatchObject({ code: 'SANDBOX.TIMEOUT', violation: 'timeout' });
  });

  it('memory bomb: memory.grow stops at the cap (even with no declared maximum) and the trap is MEMORY_LIMIT', async () => {
    const key = await load(host, 'memory-bomb');
    expect(failure(await host.call(key, 'run', bytes('x')))).toMatchObject({ code: 'SANDBOX.MEMORY_LIMIT', violation: 'memory' });
    expect(failure(host.runInline(key, 'run', bytes('x'))).message).toMatch(/memory limit of 64 pages/);
  });

  it('deep recursion: stopped at function entry by fuel, or by the stack when fuel is plentiful', async () => {
    // About ten instructions a frame: 20k fuel runs out near depth 2000, long before the stack does.
    const key = await load(host, 'deep-recursion', { fuel: 20_000 });
    expect(failure(await host.call(key, 'run', bytes('x')))).toMatchObject({ code: 'SANDBOX.FUEL_EXHAUSTED', violation: 'fuel' });
    const deep = await load(host, 'deep-recursion', { fuel: 1e11 });
    expect(failure(await host.call(deep, 'run', bytes('x')))).toMatchObject({ code: 'SANDBOX.STACK_OVERFLOW', violation: 'stack' });
  });

  it('huge output: refused as OUTPUT_TOO_LARGE', async () => {
    const key = await load(host, 'huge-output');
    const f = failure(await host.call(key, 'run', bytes('x')));
    expect(f).toMatchObject({ code: 'SANDBOX.OUTPUT_TOO_LARGE', violation: 'output_size' });
    expect(f.message).toContain('4194304 bytes; the limit is 65536');
  });

  it('output pointer out of bounds: refused as OUT_OF_BOUNDS', async () => {
    const key = await load(host, 'output-out-of-bounds');
    expect(failure(await host.call(key, 'run', bytes('x')))).toMatchObject({ code: 'SANDBOX.OUT_OF_BOUNDS', violation: 'memory_access' });
  });

  it('trap mid-write: SANDBOX.TRAP, no partial output', async () => {
    const key = await load(host, 'trap-mid-write');
    const result = await host.call(key, 'run', bytes('x'));
    expect(failure(result)).toMatchObject({ code: 'SANDBOX.TRAP', violation: undefined });
    expect(failure(result).message).toMatch(/divide by zero/);
    expect('output' in result).toBe(false);
  });

  it('wrong ABI version: refused at load with REGISTRY.ABI_MISMATCH', async () => {
    await expect(load(host, 'wrong-abi-version')).rejects.toMatchObject({ code: 'REGISTRY.ABI_MISMATCH', message: expect.stringMatching(/ABI version 2/) });
  });

  it('unknown import: refused at load with REGISTRY.WASM_INVALID naming the import', async () => {
    await expect(load(host, 'unknown-import')).rejects.toMatchObject({ code: 'REGISTRY.WASM_INVALID', message: expect.stringMatching(/forgeone\.spawn_process/) });
  });

  it('code naming globals it does not declare (the indices metering adds): refused at load with REGISTRY.WASM_INVALID', async () => {
    await expect(load(host, 'reaches-sandbox-globals')).rejects.toMatchObject({ code: 'REGISTRY.WASM_INVALID' });
  });

  it('SIMD: refused at load with SANDBOX.MODULE_REJECTED', async () => {
    await expect(load(host, 'simd')).rejects.toMatchObject({ code: 'SANDBOX.MODULE_REJECTED', details: { feature: 'simd' } });
  });

  it('an import whose capability is not granted: the call fails with CAPABILITY_DENIED', async () => {
    const key = await load(host, 'undeclared-capability');
    const f = failure(await host.call(key, 'run', bytes('x')));
    expect(f).toMatchObject({ code: 'SANDBOX.CAPABILITY_DENIED', violation: 'capability' });
    expect(f.message).toContain('"storage"');
  });

  it('the well-behaved plugin answered every concurrent call correctly', async () => {
    stop = true;
    const results = await helloCalls;
    expect(results.length).toBeGreaterThan(10);
    // Short calls run inline, so there are hundreds of thousands: one expect over the wrong answers, not one per call.
    const wrong = results.map((r, i) => (r.ok ? text(r.output) : r.error.message) === `hello, caller ${i}` ? undefined : { i, answer: r.ok ? text(r.output) : r.error.message }).filter((w) => w !== undefined);
    expect(wrong).toEqual([]);
  });
});

describe('SandboxHost - unload', () => {
  it('lets a call in flight finish before the pool stops', async () => {
    const host = new SandboxHost();
    const key = 'hostile/loop';
    await host.load({ key, wasm: await hostile('infinite-loop-handler'), handlers: ['run'], capabilities: {}, limits: { ...LIMITS, fuel: 30_000_000 } });
    const inFlight = host.call(key, 'run', bytes('x'));
    await new Promise((resolve) => setTimeout(resolve, 1));
    await host.unload(key);
    expect(failure(await inFlight).code).toBe('SANDBOX.FUEL_EXHAUSTED');
    expect(failure(await host.call(key, 'run', bytes('x'))).code).toBe('SANDBOX.NOT_FOUND');
    await host.close();
  });
});

describe('SandboxHost - concurrency cap', () => {
  it('queues up to maxQueuedCalls, then refuses with SANDBOX.OVERLOADED', async () => {
    const host = new SandboxHost({ maxQueuedCalls: 1 });
    const key = 'hostile/loop';
    await host.load({ key, wasm: await hostile('infinite-loop-handler'), handlers: ['run'], capabilities: {}, limits: { ...LIMITS, fuel: 1e12, timeoutMs: 300, maxConcurrency: 1 } });
    const calls = [host.call(key, 'run', bytes('1')), host.call(key, 'run', bytes('2')), host.call(key, 'run', bytes('3'))];
    const third = await calls[2];
    expect(failure(third)).toMatchObject({ code: 'SANDBOX.OVERLOADED', violation: 'concurrency' });
    expect(host.poolStats(key)).toMatchObject({ busy: 1, queued: 1 });
    const [first, second] = await Promise.all(calls.slice(0, 2));
    expect(failure(first).code).toBe('SANDBOX.TIMEOUT');
    expect(failure(second).code).toBe('SANDBOX.TIMEOUT');
    await host.close();
  });
});
