import { describe, expect, it } from 'vitest';
import { DEFAULT_SIGNATURE_POLICY, parseSignaturePolicy, signaturePolicyFor } from './signing.js';

describe('signature policy', () => {
  it('defaults: production strict, staging audit, anything else strict', () => {
    const policy = parseSignaturePolicy(undefined);
    expect(policy).toEqual(DEFAULT_SIGNATURE_POLICY);
    expect(signaturePolicyFor(policy, 'production')).toEqual({ mode: 'strict', threshold: 1 });
    expect(signaturePolicyFor(policy, 'staging')).toEqual({ mode: 'audit', threshold: 1 });
    expect(signaturePolicyFor(policy, 'qa')).toEqual({ mode: 'strict', threshold: 1 });
  });

  it('merges FORGEONE_SIGNATURE_POLICY over the defaults, threshold defaulting to 1', () => {
    const policy = parseSignaturePolicy('{"production":{"mode":"strict","threshold":2},"qa":{"mode":"audit"}}');
    expect(signaturePolicyFor(policy, 'production')).toEqual({ mode: 'strict', threshold: 2 });
    expect(signaturePolicyFor(policy, 'qa')).toEqual({ mode: 'audit', threshold: 1 });
    expect(signaturePolicyFor(policy, 'staging')).toEqual({ mode: 'audit', threshold: 1 });
  });

  it('refuses bad JSON, a mode that skips verification and a bad threshold, naming the field', () => {
    expect(() => parseSignaturePolicy('{')).toThrow(/not valid JSON/);
    expect(() => parseSignaturePolicy('{"production":{"mode":"off"}}')).toThrow(/production\.mode/);
    expect(() => parseSignaturePolicy('{"production":{"mode":"strict","threshold":0}}')).toThrow(/production\.threshold/);
  });
});
