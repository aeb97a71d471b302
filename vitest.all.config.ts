// The whole suite (`npm run test:all`, what .ci/run runs): the fast files and the *.slow.test.ts ones,
// in the same two backend projects as vitest.config.ts.
import { defineConfig } from 'vitest/config';
import { base, projects } from './vitest.config.ts';

export default defineConfig({
  test: { ...base, projects: projects(['**/node_modules/**']) },
});
