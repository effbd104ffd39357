import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The package's own entry points name the sources in tests (the published exports name dist/).
  resolve: {
    alias: {
      'fusepass/sim': fileURLToPath(new URL('./sim/index.ts', import.meta.url)),
      'fusepass/conformance': fileURLToPath(new URL('./conformance/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    // Real-kernel tests fork namespace children; keep the suite on the machine's 2 cores.
    pool: 'forks',
    testTimeout: 30_000,
  },
});
