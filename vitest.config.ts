import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['agent/**/*.test.ts', 'cli/**/*.test.ts', 'tui/**/*.test.ts', 'tui/**/*.test.tsx', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // In CI also write a JSON summary, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-results.json' }]] : ['default'],
  },
});
