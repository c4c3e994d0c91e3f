import { describe, expect, it } from 'vitest';
import { type ForgeOneError } from './errors.js';
import { manifestJsonSchema, PluginManifestSchema } from './manifest.js';
import { parseOrThrow } from './validation.js';

const valid = {
  name: 'acme/pii-redactor',
  version: '1.4.2',
  abi: 1,
  description: 'Masks e-mail addresses and card numbers',
  handlers: ['redact'],
  capabilities: { log: true, storage: true, http: { allow: ['api.acme.example'] } },
  limits: { memoryMiB: 16, fuel: 50000000, timeoutMs: 200, maxOutputBytes: 1048576 },
  tests: [{ handler: 'redact', input: 'mail bob@x.io', expect: 'mail ***' }],
};

function refusal(value: unknown): ForgeOneError {
  try {
    parseOrThrow(PluginManifestSchema, value, 'REGISTRY.MANIFEST_INVALID', 'forgeone.plugin.json');
  } catch (error) {
    return error as ForgeOneError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('manifest - validation', () => {
  it('accepts a complete manifest', () => {
    expect(PluginManifestSchema.parse(valid).name).toBe('acme/pii-redactor');
  });

  it('names a missing field', () => {
    const { version: _v, ...missing } = valid;
    const error = refusal(missing);
    expect(error.code).toBe('REGISTRY.MANIFEST_INVALID');
    expect(error.message).toMatch(/version:/);
  });

  it('names a field with a wrong value, with its path', () => {
    expect(refusal({ ...valid, limits: { ...valid.limits, memoryMiB: -1 } }).message).toMatch(/limits\.memoryMiB:/);
    expect(refusal({ ...valid, version: 'one' }).message).toMatch(/version: must be a semantic version/);
    expect(refusal({ ...valid, abi: 2 }).message).toMatch(/abi:/);
  });

  it('refuses unknown fields and names them', () => {
    expect(refusal({ ...valid, sneaky: true }).message).toContain('"sneaky"');
    expect(refusal({ ...valid, capabilities: { shell: true } }).message).toMatch(/capabilities: unknown field\(s\) "shell"/);
  });

  it('refuses a test vector for a handler the manifest does not declare', () => {
    expect(refusal({ ...valid, tests: [{ handler: 'nope', input: '', expect: '' }] }).message).toMatch(/tests\[0\]\.handler/);
  });

  it('publishes a JSON Schema that forbids additional properties', () => {
    const schema = manifestJsonSchema() as { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'version', 'abi', 'handlers', 'limits']));
    expect(Object.keys(schema.properties)).toContain('capabilities');
  });
});
