import { ForgeOneError } from '@forgeone/contracts';
import { BadRequestException, NotFoundException, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { projectionError } from '../projections.reader.js';
import { mapError } from './error.filter.js';

const request = { method: 'POST', url: '/v1/plugins', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' };

describe('HTTP error mapping', () => {
  it('errors - a ForgeOneError keeps its code, message and details with the status of its code', () => {
    const error = new ForgeOneError('REGISTRY.VERSION_EXISTS', 'acme/x 1.0.0 is already published; publish a higher version', { name: 'acme/x' });
    expect(mapError(error, request)).toEqual({
      status: 409,
      internal: false,
      reply: { error: { code: 'REGISTRY.VERSION_EXISTS', message: 'acme/x 1.0.0 is already published; publish a higher version', details: { name: 'acme/x' } } },
    });
    expect(mapError(new ForgeOneError('REGISTRY.VERSION_NOT_FOUND', 'no such version'), request).status).toBe(404);
    expect(mapError(new ForgeOneError('SERVICE.UNAVAILABLE', 'registry is not running'), request).status).toBe(503);
    expect(mapError(new ForgeOneError('SERVICE.TIMEOUT', 'slow'), request).status).toBe(504);
  });

  it('errors - an unknown route is HTTP.NOT_FOUND naming the route', () => {
    const mapped = mapError(new NotFoundException('Cannot GET /v2/nope'), { method: 'GET', url: '/v2/nope' });
    expect(mapped.status).toBe(404);
    expect(mapped.reply.error.code).toBe('HTTP.NOT_FOUND');
    expect(mapped.reply.error.message).toContain('GET /v2/nope');
  });

  it('errors - a body over the limit is COMMAND.TOO_LARGE', () => {
    const mapped = mapError(new PayloadTooLargeException('request entity too large'), request);
    expect(mapped).toMatchObject({ status: 413, reply: { error: { code: 'COMMAND.TOO_LARGE', message: expect.stringContaining('16 MiB') } } });
  });

  it('errors - malformed JSON is COMMAND.INVALID with the parser message', () => {
    const cause = new SyntaxError('Unexpected end of JSON input');
    const mapped = mapError(new BadRequestException(cause.message, { cause }), request);
    expect(mapped).toMatchObject({ status: 400, reply: { error: { code: 'COMMAND.INVALID', message: expect.stringContaining('not valid JSON (Unexpected end of JSON input)') } } });
  });

  it('errors - another client error keeps its status', () => {
    expect(mapError(new UnsupportedMediaTypeException('unsupported charset "LATIN-2"'), request)).toMatchObject({ status: 415, reply: { error: { code: 'COMMAND.INVALID' } } });
  });

  it('errors - anything else is SERVICE.INTERNAL with the trace id and without the internal message', () => {
    const mapped = mapError(new Error('password authentication failed for user "forgeone"'), request);
    expect(mapped.status).toBe(500);
    expect(mapped.internal).toBe(true);
    expect(mapped.reply.error.code).toBe('SERVICE.INTERNAL');
    expect(mapped.reply.error.message).toContain(request.traceId);
    expect(mapped.reply.error.message).not.toContain('password');
  });

  it('errors - missing projection tables and an unreachable database are SERVICE.UNAVAILABLE', () => {
    const missing = projectionError(Object.assign(new Error('relation "plugins" does not exist'), { driverError: { code: '42P01' } }));
    expect(missing).toBeInstanceOf(ForgeOneError);
    expect(missing).toMatchObject({ code: 'SERVICE.UNAVAILABLE', message: expect.stringContaining('projections are not ready yet') });
    expect(projectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toMatchObject({ code: 'SERVICE.UNAVAILABLE' });
    const other = new Error('syntax error at or near "SELEC"');
    expect(projectionError(other)).toBe(other);
  });
});
