// Every temporary file the suite makes (and the CLIs it spawns make) goes under one directory,
// removed when the run ends: tests call os.tmpdir(), which honours TMPDIR.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_ORACLE_DIR } from './nn/helpers.ts';
// @ts-expect-error: plain JavaScript module without types
import { bundleDir } from '../bin/launch.mjs';

export default async function setup(): Promise<() => void> {
  // Build the commands' bundle once, before test files spawn them side by side.
  await bundleDir();
  // the developers' extra oracle cases are optional: say once, up front, that their checks skip
  // (each test project runs this setup; the note is printed by the first)
  if (!existsSync(SHARED_ORACLE_DIR) && !process.env.MNIST_TS_ORACLE_NOTED) {
    process.env.MNIST_TS_ORACLE_NOTED = '1';
    console.log(`note: the optional shared oracle (${SHARED_ORACLE_DIR}) is absent: its cross-checks are skipped; every case in test/fixtures still runs`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mnist-ts-test-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
