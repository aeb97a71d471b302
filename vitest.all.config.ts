// The whole suite (`npm run test:all`, what .ci/run runs): the fast files and the *.slow.test.ts ones,
// in the same two backend projects as vitest.config.ts. The headless-browser files run after it, on
// their own (vitest.browser.config.ts): started beside the rest of the suite, Chromium dies at launch.
import { defineConfig } from 'vitest/config';
import { base, projects } from './vitest.config.ts';

export const BROWSER_TESTS = ['test/report/browser.slow.test.ts', 'test/live/browser.slow.test.ts'];

export default defineConfig({
  test: { ...base, projects: projects(['**/node_modules/**', ...BROWSER_TESTS]) },
});
