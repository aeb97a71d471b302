// The whole suite (`npm run test:all`, what .ci/run runs): the fast files and the *.slow.test.ts ones.
import { defineConfig } from 'vitest/config';
import { base } from './vitest.config.ts';

export default defineConfig({
  test: { ...base, include: ['test/**/*.test.ts'] },
});
