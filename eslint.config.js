import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** Layering: apps → infra/domain → contracts. Domain code stays free of frameworks and I/O. */
/** Bounded contexts (`scope:*` tags in each package.json's `nx.tags`); `shared` and `cli` have rules of their own. */
const SCOPES = ['audit', 'gateway', 'policy', 'registry', 'sandbox', 'signer', 'siem'];
const FRAMEWORK_AND_IO = ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*', 'node:crypto', 'crypto', 'node:fs', 'fs', 'node:net', 'node:http'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', 'examples/**/*.wasm'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain'] },
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:infra'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:infra'] },
            { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:infra', 'type:test'] },
            // Bounded contexts: a project uses its own context and the shared libs, never another context's.
            ...SCOPES.map((scope) => ({ sourceTag: `scope:${scope}`, onlyDependOnLibsWithTags: [`scope:${scope}`, 'scope:shared'] })),
            // The CLI runs plugins on the author's machine with the platform's own sandbox and build.
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:cli', 'scope:sandbox', 'scope:shared'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Tests of any project may use the test harness.
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [{ sourceTag: '*', onlyDependOnLibsWithTags: ['*'] }],
        },
      ],
    },
  },
  {
    files: ['libs/*-domain/src/**/*.ts', 'libs/event-sourcing/src/**/*.ts', 'libs/http-contract/src/**/*.ts', 'libs/plugin-abi/src/**/*.ts', 'libs/contracts/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: FRAMEWORK_AND_IO, message: 'domain and contract code does no I/O and uses no framework; move this to an infra lib or an app' }] }],
    },
  },
);
