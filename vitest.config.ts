import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Real-kernel tests fork namespace children; keep the suite on the machine's 2 cores.
    pool: 'forks',
    testTimeout: 30_000,
  },
});
