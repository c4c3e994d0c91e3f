import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names } from '@forgeone/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { natsConnectionOptions, natsTlsHint, natsTlsOptions, serviceNatsConnectionOptions } from './nats-url.js';

// A CA certificate made by infra/cluster/make-test-ca.sh (public part only; parsing does not look at its dates).
const CA = [
  '-----BEGIN CERTIFICATE-----',
  'MIIB2TCCAX6gAwIBAgIUK44WYXRmGCazSJCusgE7Zn80p0wwCgYIKoZIzj0EAwIw',
  'ODEWMBQGA1UECgwNRm9yZ2VPbmUgdGVzdDEeMBwGA1UEAwwVRm9yZ2VPbmUgdGVz',
  'dCBOQVRTIENBMB4XDTI2MTIwNzE1MDAwNVoXDTI3MDEwNjE1MDAwNVowODEWMBQG',
  'A1UECgwNRm9yZ2VPbmUgdGVzdDEeMBwGA1UEAwwVRm9yZ2VPbmUgdGVzdCBOQVRT',
  'IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeXFifBTyM8VaVGzBLGHfM+Eh',
  'ue4nm5MTFJOAha8isU63nmKwUVjhtx7XI7y5B4b6WfqM/GviXMh47RGOs9mRh6Nm',
  'MGQwHQYDVR0OBBYEFCDKsLjnpRmmocE9UizQHmCEeSy0MB8GA1UdIwQYMBaAFCDK',
  'sLjnpRmmocE9UizQHmCEeSy0MBIGA1UdEwEB/wQIMAYBAf8CAQAwDgYDVR0PAQH/',
  'BAQDAgEGMAoGCCqGSM49BAMCA0kAMEYCIQDH5KD6aepFcBLOgiupVdyYKCWBMy7P',
  'ortYLYPbvDr3hAIhAIslltPGD4WAj6XnEvzyw2USHkpm1NojUKLXrs1+Nbvk',
  '-----END CERTIFICATE-----',
].join('\n');

describe('FORGEONE_NATS_CA_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forgeone-nats-ca-'));
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, `# the test CA\n${CA}\n`);
  const notPem = join(dir, 'not-pem.txt');
  writeFileSync(notPem, 'nats-0.nats:4222\n');
  const broken = join(dir, 'broken.crt');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const configError = (env: NodeJS.ProcessEnv): ConfigError => {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected loadConfig to throw');
  };

  it('nats tls - a CA file with NATS_URL is read at start; its absolute path is the configuration', () => {
    expect(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222', FORGEONE_NATS_CA_FILE: caFile }).natsCaFile).toBe(caFile);
    expect(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222', FORGEONE_NATS_CA_FILE: '' }).natsCaFile).toBeUndefined();
  });

  it('nats tls - a missing file, a file without a certificate and a certificate that does not parse are refused, naming the variable', () => {
    const missing = configError({ NATS_URL: 'nats://127.0.0.1:4222', FORGEONE_NATS_CA_FILE: join(dir, 'absent.crt') });
    expect(missing.issues).toEqual([{ variable: 'FORGEONE_NATS_CA_FILE', message: expect.stringContaining(`cannot read ${join(dir, 'absent.crt')}: ENOENT`) }]);
    expect(configError({ NATS_URL: 'nats://127.0.0.1:4222', FORGEONE_NATS_CA_FILE: notPem }).issues).toEqual([
      { variable: 'FORGEONE_NATS_CA_FILE', message: expect.stringContaining(`${notPem} holds no PEM certificate`) },
    ]);
    expect(configError({ NATS_URL: 'nats://127.0.0.1:4222', FORGEONE_NATS_CA_FILE: broken }).issues).toEqual([
      { variable: 'FORGEONE_NATS_CA_FILE', message: expect.stringContaining(`${broken}: certificate 1 does not parse`) },
    ]);
  });

  it('nats tls - a CA without NATS_URL is refused: the private nats-server has no TLS', () => {
    expect(configError({ FORGEONE_NATS_CA_FILE: caFile }).issues).toEqual([{ variable: 'FORGEONE_NATS_CA_FILE', message: expect.stringContaining('NATS_URL is not') }]);
  });

  it('nats tls - connection options carry the CA (TLS then required) and nothing without one', () => {
    expect(natsTlsOptions({})).toEqual({});
    expect(natsTlsOptions({ caFile })).toEqual({ tls: { ca: CA } });
    expect(natsConnectionOptions('nats://u:p@a:4222,b:4222', { caFile })).toEqual({ servers: ['nats://a:4222', 'nats://b:4222'], user: 'u', pass: 'p', tls: { ca: CA } });
    expect(natsConnectionOptions('nats://a:4222')).toEqual({ servers: ['nats://a:4222'] });
  });

  it('nats tls - a certificate failure names the setting to look at; other failures get no hint', () => {
    expect(natsTlsHint(new Error('unable to verify the first certificate'))).toContain('set FORGEONE_NATS_CA_FILE');
    expect(natsTlsHint(new Error('self-signed certificate in certificate chain'), { caFile })).toContain(`does not chain to FORGEONE_NATS_CA_FILE ${caFile}`);
    expect(natsTlsHint(new Error('connection refused'))).toBe('');
  });

  it("nats tls - a service takes the CA from its environment, and a bad one stops it naming the variable", () => {
    const options = serviceNatsConnectionOptions('nats://a:4222', 'registry', names(''), { FORGEONE_NATS_CA_FILE: caFile, FORGEONE_NATS_CREDENTIAL: 'registry:pw' });
    expect(options).toMatchObject({ servers: ['nats://a:4222'], user: 'registry', pass: 'pw', tls: { ca: CA } });
    expect(() => serviceNatsConnectionOptions('nats://a:4222', 'registry', names(''), { FORGEONE_NATS_CA_FILE: notPem })).toThrow(/^FORGEONE_NATS_CA_FILE: .*holds no PEM certificate/);
  });
});
