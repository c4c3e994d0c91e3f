import { describe, expect, it } from 'vitest';
import { ForgeOneError } from './errors.js';
import { RollbackPluginRequestSchema } from './registry.commands.js';
import { parseOrThrow } from './validation.js';

const rollback = { name: 'acme/hello', version: '1.0.0', environment: 'production' };

function refusal(value: unknown): ForgeOneError {
  try {
    parseOrThrow(RollbackPluginRequestSchema, value, 'COMMAND.INVALID', 'the rollback request');
  } catch (error) {
    return error as ForgeOneError;
  }
  throw new Error('expected the rollback request to be refused');
}

describe('rollback request - reason', () => {
  it('is trimmed', () => {
    expect(RollbackPluginRequestSchema.parse({ ...rollback, reason: '  1.1.0 corrupts card numbers \n' }).reason).toBe('1.1.0 corrupts card numbers');
  });

  it('is required, and its absence is named', () => {
    const error = refusal(rollback);
    expect(error.code).toBe('COMMAND.INVALID');
    expect(error.message).toBe('the rollback request is invalid: reason: is required (string)');
  });

  it('may not be blank or longer than 500 characters', () => {
    expect(refusal({ ...rollback, reason: '   ' }).message).toContain('reason: must say why the version is rolled back');
    expect(refusal({ ...rollback, reason: 'x'.repeat(501) }).message).toContain('reason: must be at most 500 characters');
    expect(RollbackPluginRequestSchema.parse({ ...rollback, reason: 'x'.repeat(500) }).reason).toHaveLength(500);
  });
});
