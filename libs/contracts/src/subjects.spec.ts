import { describe, expect, it } from 'vitest';
import { decodeSubjectToken, encodeSubjectToken, names, tenantAggregateId } from './subjects.js';

describe('subjects - encoding', () => {
  it('encodes plugin names into one safe token and back', () => {
    for (const id of ['acme/pii-redactor', 'a.b*c>d e', 'ünïcödé/x', 'plain_name-1', '~tilde']) {
      const token = encodeSubjectToken(id);
      expect(token).toMatch(/^[A-Za-z0-9_~-]+$/);
      expect(decodeSubjectToken(token)).toBe(id);
    }
  });

  it('spells every token byte for byte: safe ids unchanged, other bytes as ~ and two lowercase hex digits', () => {
    expect(encodeSubjectToken('plain_Name-1')).toBe('plain_Name-1');
    expect(encodeSubjectToken('acme:acme/p-0')).toBe('acme~3aacme~2fp-0');
    expect(encodeSubjectToken('a.b*c>d e~')).toBe('a~2eb~2ac~3ed~20e~7e');
    expect(encodeSubjectToken('ü\u{1F600}')).toBe('~c3~bc~f0~9f~98~80');
    expect(encodeSubjectToken('\u0000\u007f')).toBe('~00~7f');
    expect(() => encodeSubjectToken('')).toThrow(/empty identifier/);
  });

  it('keeps the design names without a namespace and prefixes all of them with one', () => {
    const plain = names('');
    expect(plain.stream).toBe('FORGEONE_EVENTS');
    expect(plain.command('registry', 'publish')).toBe('forgeone.cmd.registry.publish');
    expect(plain.eventSubject('plugin', 'acme/x')).toBe('forgeone.evt.plugin.acme~2fx');
    const spaced = names('t-1');
    expect(spaced.stream).toBe('T_1_FORGEONE_EVENTS');
    expect(spaced.eventsWildcard).toBe('t-1.forgeone.evt.>');
    expect(spaced.command('registry', 'publish')).toBe('t-1.forgeone.cmd.registry.publish');
    expect([plain.artifactBucket, plain.pluginKvBucket]).toEqual(['forgeone-artifacts', 'forgeone-plugin-kv']);
    expect([spaced.artifactBucket, spaced.pluginKvBucket]).toEqual(['t-1-forgeone-artifacts', 't-1-forgeone-plugin-kv']);
  });

  it('names the subjects of one aggregate and the prefixes without string surgery', () => {
    expect(names('').aggregateEvents('plugin')).toBe('forgeone.evt.plugin.>');
    expect(names('t-1').aggregateEvents('runner-signature')).toBe('t-1.forgeone.evt.runner-signature.>');
    expect([names('').eventsPrefix, names('t-1').eventsPrefix]).toEqual(['forgeone.evt.', 't-1.forgeone.evt.']);
    expect([names('').subjectPrefix, names('t-1').subjectPrefix]).toEqual(['', 't-1.']);
    expect(names('t-1').eventSubject('plugin', 'x').startsWith(names('t-1').eventsPrefix)).toBe(true);
  });

  it('tenant aggregate ids are <tenant>:<name>, and a tenant that would make them ambiguous is refused', () => {
    expect(tenantAggregateId('acme', 'acme/hello')).toBe('acme:acme/hello');
    expect(() => tenantAggregateId('a:b', 'x')).toThrow(/hold no ':'/);
    expect(() => tenantAggregateId('', 'x')).toThrow(/non-empty/);
  });

  it('refuses a namespace that would break subjects', () => {
    expect(() => names('Bad.Name')).toThrow(/FORGEONE_NAMESPACE/);
  });
});
