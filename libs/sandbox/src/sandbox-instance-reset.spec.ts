import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterWasmModule } from '@forgeone/plugin-abi';
import { bytes, testPlugin } from '../test/wat.js';
import { SandboxHost } from './sandbox.host.js';
import type { SandboxCallResult } from './sandbox.types.js';

const LIMITS = { memoryMiB: 1, fuel: 1_000_000, timeoutMs: 2000, maxOutputBytes: 65536, maxConcurrency: 1 };
// calls, counter, start marker, started, memory pages, seed byte ('e'): the state right after instantiation, plus this call.
const PRISTINE = [1, 1, 7, 1, 1, 'e'.charCodeAt(0)];

function outputBytes(result: SandboxCallResult): number[] {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return [...result.output];
}

describe('SandboxHost - instances are reset between calls', () => {
  const host = new SandboxHost();
  let stateful: Uint8Array;
  beforeAll(async () => {
    stateful = await testPlugin('stateful');
    await host.load({ key: 'stateful', wasm: stateful, handlers: ['observe', 'grow', 'trap', 'fail'], capabilities: {}, limits: LIMITS });
    await host.load({ key: 'table', wasm: await testPlugin('table-setter'), handlers: ['swap'], capabilities: {}, limits: LIMITS });
  });
  afterAll(() => host.close());

  it('metering - exports the mutable globals and marks the module resettable', () => {
    const metered = meterWasmModule(stateful, { memoryCapPages: 16 });
    expect(metered.reset).toEqual({ resettable: true, globals: ['__forgeone_global_0', '__forgeone_global_1', '__forgeone_global_2'] });
  });

  it('every call sees globals, memory and the start function state of a fresh instance, inline and in a worker', async () => {
    for (let i = 0; i < 5; i++) {
      expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
      expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    }
  });

  it('charges the start function to every call, so fuel is the same on the first and later calls', async () => {
    const fresh = new SandboxHost({ prewarm: false });
    await fresh.load({ key: 's', wasm: stateful, handlers: ['observe'], capabilities: {}, limits: LIMITS });
    const first = fresh.runInline('s', 'observe', bytes(''));
    const second = fresh.runInline('s', 'observe', bytes(''));
    const inWorker = [await fresh.call('s', 'observe', bytes('')), await fresh.call('s', 'observe', bytes(''))];
    await fresh.close();
    expect(first.fuelUsed).toBeGreaterThan(0);
    expect([second, ...inWorker].map((r) => r.fuelUsed)).toEqual([first.fuelUsed, first.fuelUsed, first.fuelUsed]);
  });

  it('refuses with SANDBOX.FUEL_EXHAUSTED when the budget does not cover the start function on a reused instance', async () => {
    host.runInline('stateful', 'observe', bytes(''));
    const starved = host.runInline('stateful', 'observe', bytes(''), { fuel: 1 });
    expect(starved).toMatchObject({ ok: false, violation: 'fuel', error: { code: 'SANDBOX.FUEL_EXHAUSTED' } });
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('drops an instance whose memory grew, so the next call starts at the initial size', async () => {
    expect(outputBytes(host.runInline('stateful', 'grow', bytes('')))).toEqual([9]);
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(outputBytes(await host.call('stateful', 'grow', bytes('')))).toEqual([9]);
    expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('never reuses an instance after a trap, and resets after a guest error', async () => {
    expect(host.runInline('stateful', 'trap', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP' } });
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(await host.call('stateful', 'trap', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.TRAP' } });
    expect(outputBytes(await host.call('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
    expect(host.runInline('stateful', 'fail', bytes(''))).toMatchObject({ ok: false, error: { code: 'SANDBOX.GUEST_ERROR', message: 'seed' } });
    expect(outputBytes(host.runInline('stateful', 'observe', bytes('')))).toEqual(PRISTINE);
  });

  it('gives a module that changes its table a fresh instance per call', async () => {
    expect(meterWasmModule(await testPlugin('table-setter'), { memoryCapPages: 16 }).reset).toMatchObject({ resettable: false, reason: 'the code uses table.set' });
    for (let i = 0; i < 3; i++) {
      expect(outputBytes(host.runInline('table', 'swap', bytes('')))).toEqual([1]);
      expect(outputBytes(await host.call('table', 'swap', bytes('')))).toEqual([1]);
    }
  });
});
