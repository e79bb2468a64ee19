// One vitest setup for every package. SWC compiles the tests so Nest's decorator metadata survives
// (vitest's default esbuild transform drops it). `kind` picks unit tests (beside the code) or
// integration tests (test/*.int.spec.ts, against the real local servers).
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export function aioVitestConfig(kind) {
  const integration = kind === 'int';
  return defineConfig({
    plugins: [
      swc.vite({
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      }),
    ],
    test: {
      include: integration ? ['test/**/*.int.spec.ts'] : ['src/**/*.spec.ts', 'test/**/*.unit.spec.ts'],
      exclude: ['**/node_modules/**', '**/dist/**'],
      passWithNoTests: false,
      testTimeout: integration ? 120_000 : 10_000,
      hookTimeout: integration ? 180_000 : 10_000,
      // Integration tests share real servers; files run one after another to keep the 2-core box calm.
      fileParallelism: !integration,
      pool: 'forks',
    },
  });
}
