// The layering ARCHITECTURE.md states is held by lint: every project is tagged, and an import across a
// forbidden `type:*` or `scope:*` edge is an error. Each case lints a one-line file placed (in memory)
// inside a real project, so a constraint that stopped biting fails here.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const RULE = '@nx/enforce-module-boundaries';

function projects(): { dir: string; tags: string[] }[] {
  return ['apps', 'libs'].flatMap((parent) =>
    readdirSync(join(root, parent)).map((name) => {
      const pkg = JSON.parse(readFileSync(join(root, parent, name, 'package.json'), 'utf8')) as { nx?: { tags?: string[] } };
      return { dir: `${parent}/${name}`, tags: pkg.nx?.tags ?? [] };
    }),
  );
}

describe('module boundaries', () => {
  let eslint: ESLint;

  beforeAll(() => {
    // The rule reads Nx's cached project graph (tags included): any nx command brings it up to date.
    execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['show', 'projects'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' }, stdio: 'ignore' });
    eslint = new ESLint({ cwd: root });
  }, 120_000);

  // lazy: probe with a dynamic import, as a project that loads that library on demand must (the rule refuses mixing both kinds).
  async function boundaryErrors(file: string, importFrom: string, { lazy = false } = {}): Promise<string[]> {
    const source = lazy ? `export const probed = () => import('${importFrom}');\n` : `import * as probe from '${importFrom}';\nexport const probed = probe;\n`;
    const [result] = await eslint.lintText(source, { filePath: join(root, file) });
    return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
  }

  it('module boundaries - every app and lib has exactly one scope:* and one type:* tag', () => {
    const all = projects();
    expect(all.length).toBeGreaterThan(20);
    for (const { dir, tags } of all) {
      expect(tags.filter((t) => t.startsWith('scope:')), dir).toHaveLength(1);
      expect(tags.filter((t) => t.startsWith('type:')), dir).toHaveLength(1);
    }
  });

  it('module boundaries - an app importing another bounded context is refused by its scope tag', async () => {
    // signer (scope:signer, type:app) → sandbox (scope:sandbox, type:infra): the type rule allows it, the scope rule not.
    const errors = await boundaryErrors('apps/signer/src/boundary-probe.ts', '@forgeone/sandbox');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('scope:signer');
  });

  it('module boundaries - a shared lib importing a context lib is refused', async () => {
    const errors = await boundaryErrors('libs/signing/src/boundary-probe.ts', '@forgeone/plugin-storage');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('scope:shared');
  });

  it('module boundaries - domain and contract code may not import infrastructure', async () => {
    expect(await boundaryErrors('libs/contracts/src/boundary-probe.ts', '@forgeone/bus')).not.toEqual([]);
    const domain = await boundaryErrors('libs/registry-domain/src/boundary-probe.ts', '@forgeone/event-store');
    expect(domain.join('\n')).toContain('type:domain');
  });

  it('module boundaries - allowed edges lint clean: own context, shared libs, the CLI onto the sandbox', async () => {
    expect(await boundaryErrors('apps/registry/src/boundary-probe.ts', '@forgeone/registry-domain')).toEqual([]);
    expect(await boundaryErrors('apps/signer/src/boundary-probe.ts', '@forgeone/signing')).toEqual([]);
    // The CLI loads the sandbox only for `plugin test --local`.
    expect(await boundaryErrors('apps/cli/src/boundary-probe.ts', '@forgeone/sandbox', { lazy: true })).toEqual([]);
    expect(await boundaryErrors('apps/sandbox-runner/src/boundary-probe.ts', '@forgeone/plugin-storage')).toEqual([]);
  });
});
