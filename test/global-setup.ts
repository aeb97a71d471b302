// Every temporary file the suite makes (and the CLIs it spawns make) goes under one directory,
// removed when the run ends: tests call os.tmpdir(), which honours TMPDIR.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: plain JavaScript module without types
import { bundleDir } from '../bin/launch.mjs';

export default async function setup(): Promise<() => void> {
  // Build the commands' bundle once, before test files spawn them side by side.
  await bundleDir();
  const dir = mkdtempSync(join(tmpdir(), 'mnist-ts-test-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
