import { describe, expect, it } from 'vitest';
import { ForgeOneError } from './errors.js';
import { InvokeRequestSchema, parseInvokeRequest } from './invocation.js';

const bodies: unknown[] = [
  { handler: 'greet', input: 'world' },
  { input: 'world', handler: 'greet' },
  { handler: '_h9', input: '' },
  { handler: 'greet', inputBase64: 'd29ybGQ=' },
  { handler: 'greet', input: 'x', inputBase64: 'eA==' },
  { handler: 'greet', input: 'x', extra: 1 },
  { handler: 'greet' },
  { handler: '9greet', input: 'x' },
  { handler: 'a'.repeat(65), input: 'x' },
  { handler: 'gr-eet', input: 'x' },
  { handler: 'greet', input: 7 },
  { handler: ['greet'], input: 'x' },
  { handler: 'greet', input: undefined, other: 'x' },
  Object.assign(Object.create({ handler: 'greet' }), { input: 'x', other: 1 }),
  Object.assign(Object.create({ handler: 'greet' }), { input: 'x' }),
  [],
  ['greet', 'x'],
  null,
  'greet',
  42,
];

function viaSchema(body: unknown): { ok: true; data: unknown } | { ok: false; message: string } {
  const result = InvokeRequestSchema.safeParse(body);
  return result.success ? { ok: true, data: result.data } : { ok: false, message: 'refused' };
}

function viaParse(body: unknown): { ok: true; data: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, data: parseInvokeRequest(body) };
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeOneError);
    expect((error as ForgeOneError).code).toBe('COMMAND.INVALID');
    expect((error as ForgeOneError).message).toMatch(/^the invoke request is invalid: /);
    return { ok: false, message: 'refused' };
  }
}

describe('parseInvokeRequest', () => {
  it.each(bodies.map((b, i) => [i, b]))('body %i is accepted or refused exactly as InvokeRequestSchema decides', (_, body) => {
    expect(viaParse(body)).toEqual(viaSchema(body));
  });

  it('answers the common shape as plain data and names what is wrong otherwise', () => {
    expect(parseInvokeRequest({ handler: 'greet', input: 'world' })).toEqual({ handler: 'greet', input: 'world' });
    expect(() => parseInvokeRequest({ handler: 'greet', input: 'x', extra: 1 })).toThrow(/extra/);
    expect(() => parseInvokeRequest({ handler: '9greet', input: 'x' })).toThrow(/handler/);
  });
});
