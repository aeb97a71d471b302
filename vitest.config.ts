// The fast suite (`npm test`): everything but the *.slow.test.ts files, which only
// `npm run test:all` (vitest.all.config.ts, what CI runs) adds. Two projects: `default` (the
// engine's default backend, wasm where SIMD runs) and `js`, which runs the engine, layer and
// optimizer tests again on the plain TypeScript kernels, so every oracle case passes on both.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export const base = {
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  // Test files share their worker processes: a fresh process per file cost a third of the fast
  // suite's CPU. Tests leave no global state behind (each project's setup file resets the backend).
  isolate: false,
  // vitest's default leaves a core idle on a 2-core machine, while most of the slow files wait on
  // the commands they spawn.
  maxWorkers: Math.max(2, availableParallelism()),
};

const KERNEL_TESTS = ['test/engine/**/*.test.ts', 'test/nn/**/*.test.ts', 'test/optim/**/*.test.ts'];

/** The two projects over the given files. */
export function projects(exclude: string[]) {
  return [
    { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'], exclude, setupFiles: ['test/backend-default.ts'] } },
    { extends: true, test: { name: 'js', include: KERNEL_TESTS, exclude, setupFiles: ['test/backend-js.ts'] } },
  ];
}

export default defineConfig({
  test: { ...base, projects: projects(['test/**/*.slow.test.ts', '**/node_modules/**']) },
});
