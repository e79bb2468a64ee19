// One vitest setup for every package. SWC compiles the tests so Nest's decorator metadata survives
// (vitest's default esbuild transform drops it). `kind` picks unit tests (beside the code) or
// integration tests (test/*.int.spec.ts, against the real local servers).
import path from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export function aioVitestConfig(kind) {
  const integration = kind === 'int' || kind === 'e2e';
  // deploy/local/test.mjs sets AIO_TEST_RESULTS to collect one JSON report per package and kind, which it
  // sums into the closing "N passed, N failed" line.
  const resultsDir = process.env.AIO_TEST_RESULTS;
  const reportName = `${path.basename(process.cwd())}-${kind}.json`;
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
      include:
        kind === 'e2e' ? ['test/**/*.e2e.spec.ts'] : integration ? ['test/**/*.int.spec.ts'] : ['src/**/*.spec.ts', 'test/**/*.unit.spec.ts'],
      reporters: resultsDir ? ['default', 'json'] : ['default'],
      outputFile: resultsDir ? { json: path.join(resultsDir, reportName) } : undefined,
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
