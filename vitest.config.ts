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
        test: { name: 'e2e', include: everywhere('.e2e.spec.ts'), testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false },
      },
      {
        ...shared,
        // Each fault case runs its own nats-server and PostgreSQL and a whole platform: one file at a time.
        test: { name: 'faults', include: ['test/faults/**/*.faults.spec.ts'], testTimeout: 420_000, hookTimeout: 300_000, fileParallelism: false },
      },
    ],
  },
});
