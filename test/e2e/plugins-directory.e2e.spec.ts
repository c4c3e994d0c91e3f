import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DROP_MODULE_MAX_BYTES } from '@forgeone/contracts';
import {
  cliSucceeded,
  createTestDatabase,
  createTokenWithCli,
  eventually,
  removeNamespace,
  repoRoot,
  runCli,
  startTestPlatform,
  testNamespace,
  type TestDatabase,
  type TestPlatform,
  wholeAuditLog,
} from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The plugins/ directory: `forgeone watch DIR --env ENV` runs as its own process with a watcher token of tenant
// acme against the test platform, and everything it does is read back through the CLI (plugin show, audit log).

interface Outcome {
  folder: string;
  outcome: string;
  message: string;
  code?: string;
  plugin?: string;
  version?: string;
  digest?: string;
  check?: string;
  eventId?: string;
}
interface AuditEntry {
  sequence: number;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}
interface PluginDetail {
  versions: Array<{ version: string; digest: string }>;
  installations: Array<{ environment: string; version: string; status: string; digest: string }>;
}

const REJECTED = 'io.forgeone.watch.drop_rejected.v1';
const DECISION = 'io.forgeone.policy.decision_recorded.v1';
const SETTLE_MS = '400';

const work = mkdtempSync(join(tmpdir(), 'forgeone-e2e-watch-'));
const dir = join(work, 'plugins');
mkdirSync(dir);
// The folder the platform's own watcher (npm start) keeps in line with staging of tenant default.
const startDir = join(work, 'start-plugins');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hello = join(repoRoot(), 'examples', 'plugins', 'hello');
const helloManifest = JSON.parse(readFileSync(join(hello, 'forgeone.plugin.json'), 'utf8')) as Record<string, unknown>;
const helloWasm = readFileSync(join(hello, 'plugin.wasm'));
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A plugin folder assembled beside DIR and renamed into it: the write-then-rename convention. */
function drop(folder: string, name: string, version: string, extra: Record<string, string | Uint8Array> = {}): string {
  const staging = join(work, `.staging-${folder.replace(/[^a-z0-9-]/gi, '_')}`);
  mkdirSync(staging);
  writeFileSync(join(staging, 'forgeone.plugin.json'), JSON.stringify({ ...helloManifest, name, version }, null, 2));
  writeFileSync(join(staging, 'plugin.wasm'), helloWasm);
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(staging, file), content);
  renameSync(staging, join(dir, folder));
  return join(dir, folder);
}

/** The watcher as a long-running process; its --json lines are collected as they come. */
class WatcherProcess {
  readonly outcomes: Outcome[] = [];
  private stderr = '';
  private buffer = '';
  private readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number>;

  constructor(apiUrl: string, token: string, args: readonly string[]) {
    this.child = spawn(process.execPath, [join(repoRoot(), 'apps', 'cli', 'bin', 'forgeone.mjs'), 'watch', dir, ...args, '--json'], {
      env: { ...process.env, FORGEONE_API: apiUrl, FORGEONE_TOKEN: token },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      const lines = this.buffer.split('\n');
      this.buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.outcomes.push(JSON.parse(line) as Outcome);
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((done) => this.child.once('close', (code) => done(code ?? -1)));
  }

  /** The first outcome for `folder` after `from` (an index into outcomes) that `match` accepts. */
  next(folder: string, match: (o: Outcome) => boolean, from = 0, timeoutMs = 30_000): Promise<Outcome> {
    return eventually(
      async () => this.outcomes.slice(from).find((o) => o.folder === folder && match(o)),
      `the watcher's outcome for ${folder} (so far: ${JSON.stringify(this.outcomes.filter((o) => o.folder === folder))}; stderr: ${this.stderr})`,
      timeoutMs,
    );
  }

  async stop(): Promise<number> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

describe('plugins directory - forgeone watch keeps staging in line with a folder', () => {
  const namespace = testNamespace('e2e-watch');
  let db: TestDatabase;
  let platform: TestPlatform;
  let admin: string;
  let watcherToken: string;
  let watcher: WatcherProcess | undefined;
  const as = (token: string, ...args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token });
  const once = (...args: string[]) => runCli(platform.apiUrl, ['watch', dir, '--env', 'staging', '--once', '--settle-ms', SETTLE_MS, '--json', ...args], { token: watcherToken });
  const outcomesOf = (stdout: string) => stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Outcome);
  const show = async (name: string) => cliSucceeded<PluginDetail>(await as(admin, 'plugin', 'show', name));
  const staging = async (name: string) => (await show(name)).installations.find((i) => i.environment === 'staging');
  const auditLog = () => wholeAuditLog<AuditEntry>((...args) => as(admin, ...args));
  const rejections = async () => (await auditLog()).filter((e) => e.type === REJECTED);

  beforeAll(async () => {
    db = await createTestDatabase('fo_watch');
    platform = await startTestPlatform({ namespace, databaseUrl: db.url, env: { FORGEONE_WATCH: 'on', FORGEONE_WATCH_DIR: startDir, FORGEONE_WATCH_ENV: 'staging' } });
    admin = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-1', role: 'admin', tenant: 'acme' })).token;
    watcherToken = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'acme-watcher', role: 'watcher', tenant: 'acme' })).token;
  }, 180_000);

  afterAll(async () => {
    await watcher?.stop();
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
  });

  it('npm start - watches FORGEONE_WATCH_DIR into staging with a token of its own, kept 0600 in the data folder', async () => {
    const tokenFile = join(platform.dataDir, 'secrets', 'watcher-token.json');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = (JSON.parse(readFileSync(tokenFile, 'utf8')) as { token: string }).token;
    await eventually(async () => platform.logs().includes(`plugins directory: watching ${startDir} into staging as plugins-dir`), 'the platform to say what it watches');
    expect(platform.logs()).not.toContain(token);
    const staged = join(work, '.staging-start');
    mkdirSync(staged);
    writeFileSync(join(staged, 'forgeone.plugin.json'), JSON.stringify({ ...helloManifest, name: 'acme/wt-started', version: '1.0.0' }));
    writeFileSync(join(staged, 'plugin.wasm'), helloWasm);
    renameSync(staged, join(startDir, 'started'));
    // The platform's watcher acts in tenant default, so the platform administrator reads it back.
    const installed = await eventually(async () => {
      const run = await as(platform.bootstrapToken, 'plugin', 'show', 'acme/wt-started');
      if (run.code !== 0) return undefined;
      return cliSucceeded<PluginDetail>(run).installations.find((i) => i.environment === 'staging' && i.status === 'installed');
    }, 'the plugin dropped into the npm start folder installed in staging', 60_000);
    expect(installed).toMatchObject({ version: '1.0.0', digest: sha256(helloWasm) });
    expect(platform.logs()).toContain('plugins directory: started: published acme/wt-started@1.0.0');
    const entries = await wholeAuditLog<AuditEntry>((...args) => as(platform.bootstrapToken, ...args));
    expect(entries.find((e) => e.type === 'io.forgeone.plugin.installed.v1' && e.data['name'] === 'acme/wt-started')).toMatchObject({ actor: 'plugins-dir' });
    // Tenant acme sees nothing of it.
    expect((await as(admin, 'plugin', 'show', 'acme/wt-started')).code).not.toBe(0);
  });

  it('gated environment - production is refused before anything is read, with the environment to use instead', async () => {
    drop('hello', 'acme/wt-hello', '1.0.0');
    const run = await runCli(platform.apiUrl, ['watch', dir, '--env', 'production', '--once', '--json'], { token: watcherToken });
    expect(run.code).toBe(1);
    const error = (JSON.parse(run.stderr) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('WATCH.ENVIRONMENT_GATED');
    expect(error.message).toContain('production is gated (versions come by promotion from staging)');
    expect(cliSucceeded<{ plugins: unknown[] }>(await as(admin, 'plugin', 'list')).plugins).toEqual([]);
  });

  it('watcher role - may not approve, promote, roll back or change environments', async () => {
    const check = async (action: string, resource: string, env: string) =>
      cliSucceeded<{ decision: string }>(await as(admin, 'policy', 'check', '--principal', 'acme-watcher', '--action', action, '--resource', resource, '--env', env)).decision;
    for (const action of ['approve', 'promote', 'rollback']) expect(await check(action, 'Plugin:acme/wt-hello', 'staging'), action).toBe('deny');
    expect(await check('configure-environment', 'Environment:staging', 'staging')).toBe('deny');
    expect(await check('install', 'Plugin:acme/wt-hello', 'staging')).toBe('allow');
  });

  it('drop - a folder is published and installed into staging, and the first pass is printed one line per folder', async () => {
    const run = await once();
    expect(run.code, run.stderr).toBe(0);
    const [outcome] = outcomesOf(run.stdout);
    expect(outcome).toMatchObject({ folder: 'hello', outcome: 'published', plugin: 'acme/wt-hello', version: '1.0.0', digest: sha256(helloWasm) });
    expect(outcome!.message).toContain('installed in staging');
    expect(await staging('acme/wt-hello')).toMatchObject({ version: '1.0.0', status: 'installed', digest: sha256(helloWasm) });
    const installed = (await auditLog()).find((e) => e.type === 'io.forgeone.plugin.installed.v1');
    expect(installed).toMatchObject({ actor: 'acme-watcher' });
  });

  it('restart idempotence - a second start publishes, installs and records nothing new', async () => {
    const before = await eventually(async () => {
      const entries = await auditLog();
      return entries.some((e) => e.type === 'io.forgeone.plugin.installed.v1') ? entries : undefined;
    }, 'the installation in the audit log');
    const run = await once();
    expect(run.code, run.stderr).toBe(0);
    expect(outcomesOf(run.stdout)).toEqual([expect.objectContaining({ folder: 'hello', outcome: 'unchanged' })]);
    // Give the projector time to show anything the second run appended; only the policy's records of its reads may be new.
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await auditLog();
    const last = Math.max(...before.map((e) => e.sequence));
    expect(after.filter((e) => e.sequence > last && e.type !== DECISION).map((e) => e.type)).toEqual([]);
  });

  describe('while watching', () => {
    beforeAll(async () => {
      watcher = new WatcherProcess(platform.apiUrl, watcherToken, ['--env', 'staging', '--settle-ms', SETTLE_MS]);
      await eventually(async () => watcher!.outcomes.find((o) => (o as unknown as { ready?: boolean }).ready), 'the watcher to finish its first pass');
    }, 60_000);

    it('change - a new version in the folder upgrades staging', async () => {
      const from = watcher!.outcomes.length;
      const path = join(dir, 'hello');
      // Written beside and renamed over the manifest, so the watcher never sees half of it.
      writeFileSync(join(path, '.forgeone.plugin.json.tmp'), JSON.stringify({ ...helloManifest, name: 'acme/wt-hello', version: '1.1.0' }));
      renameSync(join(path, '.forgeone.plugin.json.tmp'), join(path, 'forgeone.plugin.json'));
      const outcome = await watcher!.next('hello', (o) => o.outcome !== 'waiting', from);
      expect(outcome).toMatchObject({ outcome: 'published', version: '1.1.0' });
      expect(outcome.message).toContain('upgraded staging from 1.0.0');
      expect(await staging('acme/wt-hello')).toMatchObject({ version: '1.1.0', status: 'installed' });
    });

    it('partial write - a module growing slowly is read only once it stops changing', async () => {
      const from = watcher!.outcomes.length;
      const path = join(dir, 'slow');
      mkdirSync(path);
      writeFileSync(join(path, 'forgeone.plugin.json'), JSON.stringify({ ...helloManifest, name: 'acme/wt-slow', version: '1.0.0' }));
      // Written in place, a few bytes every 150 ms (less than the settle time): half a module would fail the registry's checks.
      const pieces = 12;
      const size = Math.ceil(helloWasm.length / pieces);
      for (let i = 0; i < pieces; i++) {
        appendFileSync(join(path, 'plugin.wasm'), helloWasm.subarray(i * size, (i + 1) * size));
        await new Promise((r) => setTimeout(r, 150));
      }
      const outcome = await watcher!.next('slow', (o) => o.outcome === 'published' || o.outcome === 'rejected', from);
      expect(outcome).toMatchObject({ outcome: 'published', plugin: 'acme/wt-slow', digest: sha256(helloWasm) });
      expect(watcher!.outcomes.slice(from).filter((o) => o.folder === 'slow' && o.outcome === 'rejected')).toEqual([]);
      expect(await staging('acme/wt-slow')).toMatchObject({ version: '1.0.0', status: 'installed', digest: sha256(helloWasm) });
    });

    it('invalid manifest - refused with a rejection file and an event, the folder untouched; fixing it clears the rejection', async () => {
      const from = watcher!.outcomes.length;
      const path = drop('broken', 'acme/wt-broken', 'not-a-version');
      const outcome = await watcher!.next('broken', (o) => o.outcome === 'rejected', from);
      expect(outcome).toMatchObject({ check: 'manifest-invalid' });
      const file = join(dir, '.forgeone', 'rejected', 'broken.txt');
      const report = readFileSync(file, 'utf8');
      expect(report).toContain('refused: manifest-invalid');
      expect(report).toContain('version');
      expect(report).toMatch(/recorded: event \S+/);
      expect(JSON.parse(readFileSync(join(path, 'forgeone.plugin.json'), 'utf8'))).toMatchObject({ version: 'not-a-version' });
      expect(readdirSync(path).sort()).toEqual(['forgeone.plugin.json', 'plugin.wasm']);
      const event = await eventually(async () => (await rejections()).find((e) => e.data['folder'] === 'broken'), 'the drop_rejected event of broken');
      expect(event).toMatchObject({ actor: 'acme-watcher', data: { environment: 'staging', check: 'manifest-invalid' } });
      expect(String(event.data['reason'])).toContain('version');

      const fixedFrom = watcher!.outcomes.length;
      writeFileSync(join(path, '.m.tmp'), JSON.stringify({ ...helloManifest, name: 'acme/wt-broken', version: '1.0.0' }));
      renameSync(join(path, '.m.tmp'), join(path, 'forgeone.plugin.json'));
      await watcher!.next('broken', (o) => o.outcome === 'published', fixedFrom);
      expect(existsSync(file)).toBe(false);
    });

    it('symbolic links - a linked folder and a linked module are refused and reported', async () => {
      const from = watcher!.outcomes.length;
      const elsewhere = join(work, 'elsewhere');
      cpSync(hello, elsewhere, { recursive: true });
      symlinkSync(elsewhere, join(dir, 'linked'));
      const staged = join(work, '.staging-filelink');
      mkdirSync(staged);
      writeFileSync(join(staged, 'forgeone.plugin.json'), JSON.stringify({ ...helloManifest, name: 'acme/wt-filelink', version: '1.0.0' }));
      symlinkSync(join(elsewhere, 'plugin.wasm'), join(staged, 'plugin.wasm'));
      renameSync(staged, join(dir, 'filelink'));
      expect(await watcher!.next('linked', (o) => o.outcome === 'rejected', from)).toMatchObject({ check: 'symlink' });
      expect(await watcher!.next('filelink', (o) => o.outcome === 'rejected', from)).toMatchObject({ check: 'symlink' });
      expect(readFileSync(join(dir, '.forgeone', 'rejected', 'linked.txt'), 'utf8')).toContain('linked is a symbolic link');
      expect(readFileSync(join(dir, '.forgeone', 'rejected', 'filelink.txt'), 'utf8')).toContain('filelink/plugin.wasm is a symbolic link');
      await eventually(async () => {
        const folders = (await rejections()).map((e) => e.data['folder']);
        return folders.includes('linked') && folders.includes('filelink');
      }, 'both symlink rejections in the audit log');
    });

    it('"../" name - a folder whose name leads out of DIR is refused, its report kept inside .forgeone/rejected', async () => {
      const from = watcher!.outcomes.length;
      const name = '..\\..\\escape';
      drop(name, 'acme/wt-escape', '1.0.0');
      expect(await watcher!.next(name, (o) => o.outcome === 'rejected', from)).toMatchObject({ check: 'name' });
      const report = readFileSync(join(dir, '.forgeone', 'rejected', '~2e~2e~5c~2e~2e~5cescape.txt'), 'utf8');
      expect(report).toContain('starts with ".."');
      const event = await eventually(async () => (await rejections()).find((e) => e.data['folder'] === name), 'the name rejection in the audit log');
      expect(event.data).toMatchObject({ check: 'name', environment: 'staging' });
    });

    it('oversized file - a module over the platform limit is refused unread', async () => {
      const from = watcher!.outcomes.length;
      drop('big', 'acme/wt-big', '1.0.0', { 'plugin.wasm': new Uint8Array(DROP_MODULE_MAX_BYTES + 1) });
      const outcome = await watcher!.next('big', (o) => o.outcome === 'rejected', from);
      expect(outcome).toMatchObject({ check: 'too-large' });
      expect(outcome.message).toContain(`${DROP_MODULE_MAX_BYTES + 1} bytes, over the limit of ${DROP_MODULE_MAX_BYTES} bytes`);
      await eventually(async () => (await rejections()).find((e) => e.data['folder'] === 'big'), 'the size rejection in the audit log');
      expect((await as(admin, 'plugin', 'show', 'acme/wt-big')).code).not.toBe(0);
    });

    it('rename - a folder moved to another name keeps its installation', async () => {
      const from = watcher!.outcomes.length;
      renameSync(join(dir, 'hello'), join(dir, 'hello-renamed'));
      await watcher!.next('hello-renamed', (o) => o.outcome === 'unchanged', from);
      // The old name's event may come before or after the new one's; give it time to be handled either way.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(watcher!.outcomes.slice(from).filter((o) => o.outcome === 'removed' || o.outcome === 'rejected')).toEqual([]);
      expect(await staging('acme/wt-hello')).toMatchObject({ version: '1.1.0', status: 'installed' });
    });

    it('remove - taking a folder away removes its installation from staging', async () => {
      const from = watcher!.outcomes.length;
      rmSync(join(dir, 'slow'), { recursive: true });
      const outcome = await watcher!.next('slow', (o) => o.outcome === 'removed', from);
      expect(outcome.message).toContain('removed acme/wt-slow@1.0.0 from staging');
      expect(await staging('acme/wt-slow')).toMatchObject({ status: 'removed' });
      // The other folders' installations stay.
      expect(await staging('acme/wt-hello')).toMatchObject({ status: 'installed' });
    });

    it('gated while watching - the watcher itself changes nothing in an environment gated since it started, says so once per folder, and resumes once it is ungated', async () => {
      const from = watcher!.outcomes.length;
      cliSucceeded(await as(admin, 'env', 'set', 'staging', '--gated-from', 'dev'));
      drop('late', 'acme/wt-late', '1.0.0');
      rmSync(join(dir, 'broken'), { recursive: true });
      for (const folder of ['late', 'broken']) {
        const outcome = await watcher!.next(folder, (o) => o.outcome !== 'waiting', from);
        expect(outcome, folder).toMatchObject({ outcome: 'gated', code: 'WATCH.ENVIRONMENT_GATED' });
        expect(outcome.message).toContain('staging is gated now (versions come by promotion from dev)');
        expect(outcome.message).toContain('forgeone env set staging --ungated');
      }
      // Refused before the platform is asked to change anything: not published, still installed, and the drop is not held against the folder.
      expect((await as(admin, 'plugin', 'show', 'acme/wt-late')).code).not.toBe(0);
      expect(await staging('acme/wt-broken')).toMatchObject({ status: 'installed' });
      expect(existsSync(join(dir, '.forgeone', 'rejected', 'late.txt'))).toBe(false);
      // Retried quietly past the watcher's retry interval (5 s): one report per folder, not one per attempt.
      await new Promise((r) => setTimeout(r, 7_000));
      expect(watcher!.outcomes.slice(from).filter((o) => o.outcome === 'gated').map((o) => o.folder).sort()).toEqual(['broken', 'late']);
      expect((await rejections()).filter((e) => e.data['folder'] === 'late' || e.data['folder'] === 'broken').map((e) => e.data['folder'])).toEqual(['broken']);

      // Ungating is a weakening: a second administrator confirms it, and the held changes then apply.
      const admin2 = (await createTokenWithCli(platform.apiUrl, platform.bootstrapToken, { principal: 'adm-2', role: 'admin', tenant: 'acme' })).token;
      expect(cliSucceeded<{ outcome: string }>(await as(admin, 'env', 'set', 'staging', '--ungated')).outcome).toBe('proposed');
      cliSucceeded(await as(admin2, 'env', 'confirm', 'staging'));
      expect(await watcher!.next('late', (o) => o.outcome === 'published', from)).toMatchObject({ plugin: 'acme/wt-late', version: '1.0.0' });
      expect((await watcher!.next('broken', (o) => o.outcome === 'removed', from)).message).toContain('removed acme/wt-broken@1.0.0 from staging');
      expect(await staging('acme/wt-late')).toMatchObject({ status: 'installed' });
      expect(await staging('acme/wt-broken')).toMatchObject({ status: 'removed' });
    });

    it('restart - stopping and running again reconciles nothing new, refused drops are not reported twice', async () => {
      expect(await watcher!.stop()).toBe(0);
      watcher = undefined;
      const before = await auditLog();
      const run = await once();
      const outcomes = outcomesOf(run.stdout);
      expect(outcomes.filter((o) => o.outcome !== 'unchanged' && o.outcome !== 'rejected')).toEqual([]);
      expect(outcomes.filter((o) => o.eventId)).toEqual([]);
      expect(run.code).toBe(1);
      await new Promise((r) => setTimeout(r, 2_000));
      const last = Math.max(...before.map((e) => e.sequence));
      expect((await auditLog()).filter((e) => e.sequence > last && e.type !== DECISION).map((e) => e.type)).toEqual([]);
    });
  });
});
