import { describe, expect, it } from 'vitest';
import { UsageError } from './cli.errors.js';
import { parseEnvironment, parsePluginName, parsePluginRef } from './plugin-ref.js';

describe('parsePluginRef', () => {
  it('splits name and version at the last "@"', () => {
    expect(parsePluginRef('acme/pii-redactor@1.4.2')).toEqual({ name: 'acme/pii-redactor', version: '1.4.2' });
  });

  it('keeps pre-release and build metadata in the version', () => {
    expect(parsePluginRef('forgeone/hello@2.0.0-rc.1+build-7.x')).toEqual({ name: 'forgeone/hello', version: '2.0.0-rc.1+build-7.x' });
    expect(parsePluginRef('a-b/c-d@0.0.1-alpha-2')).toEqual({ name: 'a-b/c-d', version: '0.0.1-alpha-2' });
  });

  it.each([
    ['acme/hello', /has no version/],
    ['acme/hello@', /has no version after "@"/],
    ['@1.0.0', /has no plugin name/],
    ['hello@1.0.0', /must be "<publisher>\/<plugin>"/],
    ['@acme/hello@1.0.0', /no leading "@"/],
    ['Acme/Hello@1.0.0', /must be "<publisher>\/<plugin>"/],
    ['acme/hello/extra@1.0.0', /must be "<publisher>\/<plugin>"/],
    ['acme/hello@v1.0.0', /drop the leading "v"/],
    ['acme/hello@1.0', /semantic version/],
    ['acme/hello@1.0.0@2.0.0', /must be "<publisher>\/<plugin>"/],
    ['', /has no version/],
  ])('refuses %j', (ref, message) => {
    expect(() => parsePluginRef(ref)).toThrow(UsageError);
    expect(() => parsePluginRef(ref)).toThrow(message);
  });
});

describe('parsePluginName', () => {
  it('accepts a bare name', () => {
    expect(parsePluginName('acme/hello', 'plugin show')).toBe('acme/hello');
  });

  it('refuses a name with a version and says which name to write', () => {
    expect(() => parsePluginName('acme/hello@1.0.0', 'plugin remove')).toThrow('plugin remove takes a plugin name without a version: write "acme/hello"');
  });

  it('refuses a name without a publisher', () => {
    expect(() => parsePluginName('hello', 'plugin show')).toThrow(UsageError);
  });
});

describe('parseEnvironment', () => {
  it('accepts lowercase names and refuses others', () => {
    expect(parseEnvironment('staging')).toBe('staging');
    expect(() => parseEnvironment('Prod')).toThrow(/not an environment name/);
    expect(() => parseEnvironment('a/b')).toThrow(UsageError);
  });
});
