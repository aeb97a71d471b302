// Spawns the real command-line tools, as a user would, and captures what they print.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBin(name: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}): Run {
  const r = spawnSync(process.execPath, [`${ROOT}bin/${name}.mjs`, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: opts.timeout ?? 120_000,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts the shape of an expected failure: exit 1, exactly one line on stderr (any hint on it), no stack. */
export function expectOneLineError(r: Run, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  if (r.code !== 1 || lines.length !== 1 || !pattern.test(lines[0]) || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected exit 1 and one error line matching ${pattern}, got exit ${r.code}:\n${r.stderr}`);
  }
}
