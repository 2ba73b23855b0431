import { defineConfig } from 'vitest/config';

// Unit and HTTP tests sit next to their code (`*.test.ts`); Playwright specs live in tests/e2e.
export default defineConfig({
  test: {
    include: ['{core,server,native,ibkey,electron,renderer,tests,scripts}/**/*.test.{ts,tsx}'],
    exclude: ['node_modules/**', 'dist/**', 'tests/e2e/**'],
    pool: 'forks',
    // Every SQLite statement a test runs has its query plan checked (SPEC N1): no lookup reads a whole table.
    setupFiles: ['server/testing/query-plans.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
