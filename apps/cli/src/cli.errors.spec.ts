import { describe, expect, it } from 'vitest';
import { ForgeOneError } from '@forgeone/contracts';
import { UsageError, exitCodeFor, formatError } from './cli.errors.js';

describe('formatError', () => {
  it('prints message, code and the problems list', () => {
    const error = new ForgeOneError('REGISTRY.MANIFEST_INVALID', 'manifest is invalid', { problems: ['version: bad', { field: 'x' }] });
    expect(formatError(error, false)).toBe('error: manifest is invalid (REGISTRY.MANIFEST_INVALID)\n  - version: bad\n  - {"field":"x"}\n');
    expect(JSON.parse(formatError(error, true))).toEqual({
      error: { code: 'REGISTRY.MANIFEST_INVALID', message: 'manifest is invalid', details: { problems: ['version: bad', { field: 'x' }] } },
    });
  });

  it('keeps the code on the first line of a multi-line message and omits a code the error lacks', () => {
    const config = Object.assign(new Error('Invalid configuration:\n  FORGEONE_HTTP_PORT: must be a port'), { code: 'CONFIG.INVALID' });
    expect(formatError(config, false)).toBe('error: Invalid configuration: (CONFIG.INVALID)\n  FORGEONE_HTTP_PORT: must be a port\n');
    expect(formatError(new Error('Not built'), false)).toBe('error: Not built\n');
    expect(JSON.parse(formatError(new Error('Not built'), true))).toEqual({ error: { code: 'CLI.FAILED', message: 'Not built' } });
  });

  it('prints each unmet gate of a refused promotion on its own line', () => {
    const error = new ForgeOneError('PROMOTION.GATES_UNMET', 'acme/x@1.0.0 cannot be promoted: 2 gate(s) do not hold', {
      gates: [
        { code: 'PROMOTION.TEST_RUN_MISSING', message: 'no test run in staging' },
        { code: 'PROMOTION.APPROVALS', message: 'needs 1 approval, has 0' },
      ],
    });
    expect(formatError(error, false)).toBe(
      'error: acme/x@1.0.0 cannot be promoted: 2 gate(s) do not hold (PROMOTION.GATES_UNMET)\n  - PROMOTION.TEST_RUN_MISSING: no test run in staging\n  - PROMOTION.APPROVALS: needs 1 approval, has 0\n',
    );
  });

  it('maps usage errors to exit 2 and everything else to 1', () => {
    expect(exitCodeFor(new UsageError('bad ref'))).toBe(2);
    expect(exitCodeFor(new ForgeOneError('SERVICE.UNAVAILABLE', 'down'))).toBe(1);
    expect(exitCodeFor(new Error('x'))).toBe(1);
  });
});
