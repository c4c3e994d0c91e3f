import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig, redactUrl } from './config.js';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('config - defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      httpPort: 8080,
      dataDir: resolve('.forgeone'),
      namespace: '',
      logLevel: 'info',
      metrics: { host: '127.0.0.1', pluginMetricNames: 100 },
      sandboxRunners: 1,
    });
  });

  it('config - reads every variable', () => {
    const config = loadConfig({
      NATS_URL: 'nats://127.0.0.1:4222',
      DATABASE_URL: 'postgres://forgeone:pw@db:5432/forgeone',
      FORGEONE_HTTP_PORT: '9090',
      FORGEONE_DATA_DIR: '/var/lib/forgeone',
      FORGEONE_BOOTSTRAP_TOKEN: 'a'.repeat(32),
      FORGEONE_NAMESPACE: 't-123',
      FORGEONE_LOG_LEVEL: 'DEBUG',
      FORGEONE_METRICS_PORT: '9464',
      FORGEONE_METRICS_HOST: '0.0.0.0',
      FORGEONE_METRICS_TOKEN: 'm'.repeat(32),
      FORGEONE_PLUGIN_METRIC_NAMES_MAX: '20',
      FORGEONE_SANDBOX_RUNNERS: '3',
    });
    expect(config).toEqual({
      natsUrl: 'nats://127.0.0.1:4222',
      databaseUrl: 'postgres://forgeone:pw@db:5432/forgeone',
      httpPort: 9090,
      dataDir: '/var/lib/forgeone',
      bootstrapToken: 'a'.repeat(32),
      namespace: 't-123',
      logLevel: 'debug',
      metrics: { port: 9464, host: '0.0.0.0', token: 'm'.repeat(32), pluginMetricNames: 20 },
      sandboxRunners: 3,
    });
  });

  it('config - empty values count as unset', () => {
    expect(loadConfig({ NATS_URL: '', DATABASE_URL: ' ', FORGEONE_HTTP_PORT: '', FORGEONE_BOOTSTRAP_TOKEN: '' })).toEqual(
      loadConfig({}),
    );
  });

  it('config - accepts a NATS server list and URLs without scheme', () => {
    expect(loadConfig({ NATS_URL: 'nats://a:4222,nats://b:4222' }).natsUrl).toBe('nats://a:4222,nats://b:4222');
    expect(loadConfig({ NATS_URL: '127.0.0.1:4222' }).natsUrl).toBe('127.0.0.1:4222');
  });

  it('config - a bad port names the variable and the value', () => {
    for (const port of ['abc', '0', '70000', '80.5', '-1']) {
      const error = configError({ FORGEONE_HTTP_PORT: port });
      expect(error.issues).toEqual([{ variable: 'FORGEONE_HTTP_PORT', message: expect.stringContaining(`"${port}"`) }]);
      expect(error.message).toContain('FORGEONE_HTTP_PORT: must be a port number between 1 and 65535');
    }
  });

  it('config - bad URLs name the variable without echoing credentials', () => {
    const error = configError({ NATS_URL: 'http://user:secret@host', DATABASE_URL: 'mysql://root:hunter2@db/forgeone' });
    expect(error.issues.map((i) => i.variable).sort()).toEqual(['DATABASE_URL', 'NATS_URL']);
    expect(error.message).toContain('NATS_URL: must be a NATS URL');
    expect(error.message).toContain('DATABASE_URL: must be a Postgres URL');
    expect(error.message).not.toContain('secret');
    expect(error.message).not.toContain('hunter2');
  });

  it('config - the namespace is checked with the contracts rule', () => {
    const error = configError({ FORGEONE_NAMESPACE: 'Bad.Name' });
    expect(error.issues).toEqual([{ variable: 'FORGEONE_NAMESPACE', message: expect.stringContaining('"Bad.Name" is invalid') }]);
  });

  it('config - an unknown log level lists the allowed ones', () => {
    const error = configError({ FORGEONE_LOG_LEVEL: 'verbose' });
    expect(error.issues[0]?.variable).toBe('FORGEONE_LOG_LEVEL');
    expect(error.message).toContain('fatal, error, warn, info, debug, trace, silent');
  });

  it('config - a short bootstrap token is refused and never echoed', () => {
    const error = configError({ FORGEONE_BOOTSTRAP_TOKEN: 'tooshort' });
    expect(error.issues[0]?.variable).toBe('FORGEONE_BOOTSTRAP_TOKEN');
    expect(error.message).not.toContain('tooshort');
  });

  it('config - reports every bad variable at once', () => {
    const error = configError({ FORGEONE_HTTP_PORT: 'x', FORGEONE_NAMESPACE: '-x', FORGEONE_LOG_LEVEL: 'loud' });
    expect(error.issues.map((i) => i.variable).sort()).toEqual(['FORGEONE_HTTP_PORT', 'FORGEONE_LOG_LEVEL', 'FORGEONE_NAMESPACE']);
  });
});

describe('sandbox-runner count', () => {
  it('config - FORGEONE_SANDBOX_RUNNERS outside 1..16 or not a whole number is refused, naming the variable and the value', () => {
    for (const bad of ['0', '17', '1.5', 'two', '-1']) {
      expect(configError({ FORGEONE_SANDBOX_RUNNERS: bad }).issues).toEqual([
        { variable: 'FORGEONE_SANDBOX_RUNNERS', message: `must be a whole number from 1 to 16, the sandbox-runner processes to run (got "${bad}")` },
      ]);
    }
    expect(loadConfig({ FORGEONE_SANDBOX_RUNNERS: '16' }).sandboxRunners).toBe(16);
    expect(loadConfig({ FORGEONE_SANDBOX_RUNNERS: ' ' }).sandboxRunners).toBe(1);
  });
});

describe('metrics settings', () => {
  it('config - a metrics port off loopback without a token is refused, naming the token variable', () => {
    const error = configError({ FORGEONE_METRICS_PORT: '9464', FORGEONE_METRICS_HOST: '0.0.0.0' });
    expect(error.issues).toEqual([{ variable: 'FORGEONE_METRICS_TOKEN', message: expect.stringContaining('0.0.0.0) is not a loopback address') }]);
  });

  it('config - loopback needs no token, and port 0 asks for any free port', () => {
    expect(loadConfig({ FORGEONE_METRICS_PORT: '0', FORGEONE_METRICS_HOST: '::1' }).metrics).toEqual({ port: 0, host: '::1', pluginMetricNames: 100 });
  });

  it('config - off turns metrics off', () => {
    expect(loadConfig({ FORGEONE_METRICS_PORT: 'off' }).metrics).toEqual({ off: true, host: '127.0.0.1', pluginMetricNames: 100 });
  });

  it('config - a toggle signal for recording is read; any other signal, or one with metrics off, is refused', () => {
    expect(loadConfig({ FORGEONE_METRICS_PORT: '0', FORGEONE_METRICS_TOGGLE_SIGNAL: 'SIGUSR2' }).metrics).toEqual({ port: 0, host: '127.0.0.1', pluginMetricNames: 100, toggleSignal: 'SIGUSR2' });
    expect(configError({ FORGEONE_METRICS_TOGGLE_SIGNAL: 'SIGTERM' }).issues).toEqual([{ variable: 'FORGEONE_METRICS_TOGGLE_SIGNAL', message: expect.stringContaining('must be SIGUSR2') }]);
    expect(configError({ FORGEONE_METRICS_PORT: 'off', FORGEONE_METRICS_TOGGLE_SIGNAL: 'SIGUSR2' }).issues).toEqual([
      { variable: 'FORGEONE_METRICS_TOGGLE_SIGNAL', message: expect.stringContaining('FORGEONE_METRICS_PORT is off') },
    ]);
  });

  it('config - bad metrics values name their variable', () => {
    expect(configError({ FORGEONE_METRICS_PORT: 'x' }).issues).toEqual([{ variable: 'FORGEONE_METRICS_PORT', message: expect.stringContaining('"x"') }]);
    expect(configError({ FORGEONE_METRICS_TOKEN: 'short' }).issues.map((i) => i.variable)).toEqual(['FORGEONE_METRICS_TOKEN']);
    expect(configError({ FORGEONE_PLUGIN_METRIC_NAMES_MAX: '0' }).issues.map((i) => i.variable)).toEqual(['FORGEONE_PLUGIN_METRIC_NAMES_MAX']);
  });
});

describe('redaction', () => {
  it('redactUrl - hides user and password, keeps host and database', () => {
    expect(redactUrl('postgres://forgeone:s3cret@db:5432/forgeone')).toBe('postgres://***:***@db:5432/forgeone');
    expect(redactUrl('nats://token@127.0.0.1:4222')).toBe('nats://***:***@127.0.0.1:4222');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(redactUrl('nats://a:x@h1:4222,nats://b:y@h2:4222')).toBe('nats://***:***@h1:4222,nats://***:***@h2:4222');
  });

  it('redactUrl - unencoded special characters in a password do not leak', () => {
    for (const password of ['pa/ss', 'pa?ss', 'pa@ss', 'pa,ss', 'pa#ss']) {
      const redacted = redactUrl(`postgres://u:${password}@db:5432/forgeone`);
      expect(redacted).not.toContain('ss@');
      expect(redacted).not.toContain(password);
      expect(redacted.endsWith('@db:5432/forgeone')).toBe(true);
    }
  });

  it('redactConfig - no token and no URL credentials', () => {
    const safe = JSON.stringify(
      redactConfig(loadConfig({ DATABASE_URL: 'postgres://u:pw-123@db/forgeone', FORGEONE_BOOTSTRAP_TOKEN: 'b'.repeat(40) })),
    );
    expect(safe).not.toContain('pw-123');
    expect(safe).not.toContain('b'.repeat(40));
    expect(safe).toContain('"bootstrapToken":"[set]"');
    const metrics = JSON.stringify(redactConfig(loadConfig({ FORGEONE_METRICS_PORT: '9464', FORGEONE_METRICS_TOKEN: 'c'.repeat(40) })));
    expect(metrics).not.toContain('c'.repeat(40));
    expect(metrics).toContain('"token":"[set]"');
  });
});
