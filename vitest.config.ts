// The fast suite (`npm test`): everything but the *.slow.test.ts files, which only
// `npm run test:all` (vitest.all.config.ts, what CI runs) adds.
import { defineConfig } from 'vitest/config';

export const base = {
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: { ...base, include: ['test/**/*.test.ts'], exclude: ['test/**/*.slow.test.ts', '**/node_modules/**'] },
});
