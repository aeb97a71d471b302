// The headless-Chromium page tests, one file at a time, after the rest of `npm run test:all`.
import { defineConfig } from 'vitest/config';
import { base } from './vitest.config.ts';
import { BROWSER_TESTS } from './vitest.all.config.ts';

export default defineConfig({
  test: { ...base, include: BROWSER_TESTS, fileParallelism: false },
});
