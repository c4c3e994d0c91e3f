import { names as namesFor } from '@forgeone/contracts';
import { removeNamespace, testNamespace, TEST_NATS_URL } from '@forgeone/test-harness';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli-runner.js';

describe('admin setup', () => {
  const namespace = testNamespace('adm');
  const env = {
    NATS_URL: TEST_NATS_URL,
    FORGEONE_NAMESPACE: namespace,
    FORGEONE_EVENTS_MAX_BYTES: '8MB',
    FORGEONE_ARTIFACTS_MAX_BYTES: '4MB',
    FORGEONE_PLUGIN_KV_MAX_BYTES: '1MB',
  };

  afterAll(async () => {
    await removeNamespace(namespace);
  });

  it('admin setup - creates the stream and both buckets, then finds them as required, and raises a limit set higher', async () => {
    const first = await runCli(['admin', 'setup', '--json'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout) as { namespace: string; storage: Array<{ kind: string; action: string }> };
    expect(created.namespace).toBe(namespace);
    expect(created.storage.map((s) => [s.kind, s.action])).toEqual([
      ['events', 'created'],
      ['artifacts', 'created'],
      ['plugin-kv', 'created'],
    ]);

    const again = await runCli(['admin', 'setup'], env);
    expect(again.code).toBe(0);
    expect(again.stdout.split('\n')[0]).toMatch(/^STORAGE\s+STREAM\s+ACTION\s+CHANGES$/);
    expect(again.stdout).toContain(`stream ${namesFor(namespace).stream}`);
    expect(again.stdout.match(/unchanged/g)).toHaveLength(3);

    const raised = await runCli(['admin', 'setup', '--json'], { ...env, FORGEONE_EVENTS_MAX_BYTES: '16MB' });
    expect(JSON.parse(raised.stdout).storage[0]).toMatchObject({ action: 'raised', changes: ['max_bytes 8388608 (8MB) → 16777216 (16MB)'] });
    // Setting it back down lowers nothing.
    const lower = await runCli(['admin', 'setup', '--json'], env);
    expect(JSON.parse(lower.stdout).storage[0]).toMatchObject({ action: 'unchanged' });
    const nc = await connect({ servers: TEST_NATS_URL });
    try {
      expect((await (await jetstreamManager(nc)).streams.info(namesFor(namespace).stream)).config.max_bytes).toBe(16 * 1024 * 1024);
    } finally {
      await nc.close();
    }
  });

  it('admin setup - without NATS_URL, or with a bad setting, it says what to set', async () => {
    const missing = await runCli(['admin', 'setup', '--json'], { FORGEONE_NAMESPACE: namespace });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr).error.message).toMatch(/^NATS_URL is not set: give the NATS to provision, with a user allowed to create and update streams/);
    const bad = await runCli(['admin', 'setup', '--json'], { ...env, FORGEONE_NATS_REPLICAS: 'three' });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'CONFIG.INVALID', message: expect.stringContaining('FORGEONE_NATS_REPLICAS: must be a number of replicas from 1 to 5') });
  });
});
