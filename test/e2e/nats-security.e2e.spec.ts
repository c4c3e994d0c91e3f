import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names as namesFor } from '@forgeone/contracts';
import { repoRoot, runCli, startTestPlatform, type TestPlatform } from '@forgeone/test-harness';
import { connect, headers, nkeyAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it: no NATS_URL and no DATABASE_URL, so the platform starts its own nats-server
// (with the generated users and permissions) and its embedded PostgreSQL in the data folder.
describe('platform - the NATS of npm start is closed to anyone but its own services', () => {
  let dataDir: string;
  let platform: TestPlatform;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(platform.apiUrl, args, { token: platform.bootstrapToken, env: { FORGEONE_DATA_DIR: dataDir, ...env } });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'forgeone-e2e-nats-'));
    platform = await startTestPlatform({ namespace: '', databaseUrl: null, natsUrl: null, dataDir, timeoutMs: 120_000 });
  }, 150_000);

  afterAll(async () => {
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('platform - publishes, installs and calls a plugin under the generated permissions', async () => {
    expect((await cli(['plugin', 'publish', join(repoRoot(), 'examples', 'plugins', 'hello')])).code).toBe(0);
    expect((await cli(['plugin', 'install', 'forgeone/hello@1.0.0', '--env', 'staging'])).code).toBe(0);
    expect(await cli(['plugin', 'call', 'forgeone/hello', 'greet', '--env', 'staging', '--input', 'world'])).toEqual({ code: 0, stdout: 'hello, world\n', stderr: '' });
  });

  it('platform - an evidence export is read, signed by the audit-projector and verified under the generated permissions', { timeout: 150_000 }, async () => {
    // The first checkpoint comes at the checkpoint interval (60 s by default) after the first events.
    const deadline = Date.now() + 120_000;
    while ((await cli(['audit', 'checkpoint'])).code !== 0) {
      if (Date.now() > deadline) throw new Error('no signed checkpoint within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const out = join(dataDir, 'evidence');
    const exported = await cli(['audit', 'export', '--framework', 'soc2', '--from', day(-1), '--to', day(1), '--out', out, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await cli(['audit', 'key', '--out', join(dataDir, 'audit-key.pem')])).code).toBe(0);
    const verified = await cli(['audit', 'verify-export', out, '--key', join(dataDir, 'audit-key.pem'), '--json']);
    expect([verified.code, (JSON.parse(verified.stdout) as { ok: boolean }).ok]).toEqual([0, true]);
  });

  it('platform - an anonymous client is refused', async () => {
    const url = await natsUrlOf(dataDir);
    await expect(connect({ servers: url, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/);
  });

  it("platform - each child's environment holds only what it needs", async () => {
    const environ = async (pid: number) =>
      Object.fromEntries((await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter(Boolean).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
    const secrets = ['FORGEONE_BOOTSTRAP_TOKEN', 'FORGEONE_SERVICE_KEY', 'FORGEONE_SERVICE_CREDENTIAL', 'FORGEONE_NATS_CREDENTIAL'];
    const seen = new Map<string, string>();
    for (const [service, pid] of Object.entries(platform.pids)) {
      const env = await environ(pid);
      const held = secrets.filter((name) => env[name] !== undefined);
      if (service === 'policy') expect(held.sort(), service).toEqual(['FORGEONE_BOOTSTRAP_TOKEN', 'FORGEONE_NATS_CREDENTIAL', 'FORGEONE_SERVICE_KEY']);
      else if (service === 'gateway' || service === 'audit-projector' || service === 'registry' || service === 'signer' || service === 'sandbox-runner' || service === 'siem-forwarder') {
        expect(held.sort(), service).toEqual(['FORGEONE_NATS_CREDENTIAL', 'FORGEONE_SERVICE_CREDENTIAL']);
        expect(env.FORGEONE_SERVICE_CREDENTIAL, service).toMatch(new RegExp(`^fos_${service}_`));
      }
      // No two services share a NATS identity.
      expect([...seen.values()], service).not.toContain(env.FORGEONE_NATS_CREDENTIAL);
      seen.set(service, env.FORGEONE_NATS_CREDENTIAL);
    }
    expect(seen.size).toBe(7);
    // nats-server and PostgreSQL (every process of the embedded cluster) get none of the platform's variables.
    const infrastructure = await processesUnder(dataDir);
    expect(infrastructure.some((p) => p.cmdline.includes('nats-server'))).toBe(true);
    expect(infrastructure.some((p) => p.cmdline.includes('postgres'))).toBe(true);
    for (const { pid, cmdline } of infrastructure) {
      const env = await environ(pid).catch(() => undefined);
      if (!env) continue;
      expect(Object.keys(env).filter((name) => name.startsWith('FORGEONE_') || name === 'NATS_URL' || name === 'DATABASE_URL'), cmdline).toEqual([]);
    }
  });

  it('platform - an automation client created with the CLI calls a plugin on the bus with an API token, and nothing once revoked', async () => {
    const created = await cli(['admin', 'nats-client', 'create', 'release-bot', '--json']);
    expect(created.stderr).toBe('');
    const { seed, inboxPrefix, reloaded } = JSON.parse(created.stdout) as { seed: string; inboxPrefix: string; reloaded: boolean };
    expect(reloaded).toBe(true);
    const listed = await cli(['admin', 'nats-client', 'list']);
    expect(listed.stdout).toMatch(/release-bot/);
    expect(listed.stdout).not.toContain(seed);

    const url = await natsUrlOf(dataDir);
    const nc = await retry(() => connect({ servers: url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), inboxPrefix, maxReconnectAttempts: 0, timeout: 5_000 }), 60_000);
    try {
      const reply = await nc.request(namesFor('').invoke('staging', 'forgeone/hello'), JSON.stringify({ handler: 'greet', input: 'bus' }), {
        timeout: 5_000,
        headers: headersWith('Authorization', `Bearer ${platform.bootstrapToken}`),
      });
      expect(JSON.parse(reply.string())).toMatchObject({ output: 'hello, bus' });
      const revoked = await cli(['admin', 'nats-client', 'revoke', 'release-bot']);
      expect(revoked.code).toBe(0);
      await retry(async () => {
        if (!nc.isClosed()) throw new Error('still connected');
      });
    } finally {
      await nc.close().catch(() => undefined);
    }
  });
});

async function natsUrlOf(dataDir: string): Promise<string> {
  const config = await readFile(join(dataDir, 'nats', 'nats-server.conf'), 'utf8');
  return `nats://${/listen: "([^"]+)"/.exec(config)![1]}`;
}

async function processesUnder(dataDir: string): Promise<Array<{ pid: number; cmdline: string }>> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = await readFile(`/proc/${name}/cmdline`, 'utf8').then((text) => text.split('\0'), () => ['']);
    const cmdline = argv.join(' ');
    // The platform's own node processes are checked above; these are the binaries it runs (nats-server, postgres).
    if (cmdline.includes(dataDir) && !/(^|\/)node$/.test(argv[0])) out.push({ pid: Number(name), cmdline });
  }
  return out;
}

async function retry<T>(attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function headersWith(key: string, value: string) {
  const h = headers();
  h.set(key, value);
  return h;
}
