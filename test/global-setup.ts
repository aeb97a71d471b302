// Every temporary file the suite makes (and the CLIs it spawns make) goes under one directory,
// removed when the run ends: tests call os.tmpdir(), which honours TMPDIR.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-ts-test-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
