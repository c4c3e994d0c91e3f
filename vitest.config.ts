import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// swc compiles decorators with metadata (NestJS DI needs it); the source condition
// lets tests import workspace libraries from src without a build step.
const shared = {
  plugins: [swc.vite({ tsconfigFile: './tsconfig.base.json' })],
  resolve: { conditions: ['@forgeone/source'] },
  ssr: { resolve: { conditions: ['@forgeone/source'] } },
};
const everywhere = (suffix: string) => [`libs/*/src/**/*${suffix}`, `apps/*/src/**/*${suffix}`, `apps/*/test/**/*${suffix}`, `test/**/*${suffix}`];

export default defineConfig({
  test: {
    // Two workers whatever the machine reports, so a run here and in CI schedules the same way.
    maxWorkers: 2,
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: everywhere('.spec.ts'),
          exclude: ['**/*.int.spec.ts', '**/*.e2e.spec.ts', 'test/faults/**', '**/node_modules/**'],
        },
      },
      {
        ...shared,
        test: { name: 'int', include: everywhere('.int.spec.ts'), testTimeout: 30_000, hookTimeout: 60_000 },
      },
      {
        ...shared,
        // Two e2e files at a time, beside the unit and int files: an e2e file spends most of its time waiting on its
        // own platform's processes, and each starts a platform of its own (own namespace, database, ports), so two
        // never share state. Same worker count as the unit and int projects, so vitest runs them as one group.
        test: { name: 'e2e', include: everywhere('.e2e.spec.ts'), testTimeout: 120_000, hookTimeout: 180_000, maxWorkers: 2 },
      },
      {
        ...shared,
        // Each fault case runs its own nats-server and PostgreSQL and a whole platform and times outages: one file at
        // a time, after every other file (vitest runs single-worker projects last, on their own).
        test: { name: 'faults', include: ['test/faults/**/*.faults.spec.ts'], testTimeout: 420_000, hookTimeout: 300_000, fileParallelism: false },
      },
    ],
  },
});
