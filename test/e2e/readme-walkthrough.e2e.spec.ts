// README.md's walk-through (tokens and policy, then signing, publishing, installing, upgrading, rolling
// back, testing, approving, promoting and removing the example plugin), extracted from the document and run as written with bash, in
// order, from a copy of the checkout's examples, against a real test platform.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, removeNamespace, repoRoot, runCli, startTestPlatform, testNamespace, type TestDatabase, type TestPlatform } from '@forgeone/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docExamples, runShellExample } from '../doc-examples.js';

describe('README - the walk-through against a platform', () => {
  const namespace = testNamespace('e2e-readme');
  let db: TestDatabase;
  let platform: TestPlatform;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'forgeone-readme-e2e-'));
    // What the walk-through reads from a clone: the example plugins, at the same relative paths.
    cpSync(join(repoRoot(), 'examples', 'plugins'), join(work, 'clone', 'examples', 'plugins'), { recursive: true });
    mkdirSync(join(work, 'home'));
    db = await createTestDatabase();
    platform = await startTestPlatform({ namespace, databaseUrl: db.url });
  }, 240_000);

  afterAll(async () => {
    await platform?.stop();
    await removeNamespace(namespace);
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('README - every walk-through command runs as written, in order, and leaves the state it describes', async () => {
    const blocks = docExamples('README.md', 'walkthrough', 'sh');
    expect(blocks).toHaveLength(2);
    const script = blocks.join('\n');
    expect(script).toContain('plugin upgrade forgeone/hello@1.1.0');

    const devTokenId = `$(npx forgeone token list --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).tokens.find((t) => t.principal === "dev-42").tokenId))')`;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: join(work, 'home'), XDG_CONFIG_HOME: join(work, 'home', '.config'), FORGEONE_API: platform.apiUrl };
    const run = await runShellExample(script, {
      cwd: join(work, 'clone'),
      env,
      placeholders: { '<the bootstrap token>': platform.bootstrapToken, '<tokenId>': devTokenId },
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

    // What the comments in the walk-through promise.
    expect(run.stdout).toContain('hello, world\n');
    expect(run.stdout).toContain('hallo, world\n');
    expect(run.stdout).toContain('revoked token ');
    // Developers install outside production only (the default policies).
    expect(run.stdout).toMatch(/deny: dev-42 may not install Plugin forgeone\/hello in production/);

    const cli = (args: string[]) => runCli(platform.apiUrl, [...args, '--json'], { token: platform.bootstrapToken, cwd: work });
    const list = JSON.parse((await cli(['plugin', 'list'])).stdout) as { plugins: { name: string; installations: { environment: string; version: string; status: string }[] }[] };
    expect(list.plugins).toHaveLength(1);
    expect(list.plugins[0].name).toBe('forgeone/hello');
    expect(list.plugins[0].installations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ environment: 'production', version: '1.0.0', status: 'installed' }),
        expect.objectContaining({ environment: 'staging', version: '1.0.0', status: 'removed' }),
      ]),
    );
    // The release process: refused as a plain install, then tested, approved by another identity and promoted.
    expect(run.stderr).toContain('(REGISTRY.GATED_ENVIRONMENT)');
    expect(run.stdout).toContain('approved forgeone/hello@1.0.0 for production');
    expect(run.stdout).toContain('promoted forgeone/hello@1.0.0 from staging to production');
    const history = JSON.stringify(JSON.parse((await cli(['plugin', 'history', 'forgeone/hello'])).stdout));
    expect(history).toContain('"promotion":{"from":"staging"');
    expect(history).toContain('1.1.0 greets in the wrong language');
    expect(history).toContain('io.forgeone.plugin.removed.v1');
    const tokens = JSON.parse((await cli(['token', 'list'])).stdout) as { tokens: { principal: string; revokedAt?: string }[] };
    expect(tokens.tokens.find((t) => t.principal === 'dev-42')?.revokedAt).toBeDefined();
  }, 420_000);
});
