// Never destroy the user's files (issue 11), spawned as a user runs the tools: one representative
// run per behaviour (the rest is in process in safe-write, limits and train-preflight tests, and
// spawned at length in files.slow.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, expectOneLineError, runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'files-'));
const at = (name: string) => join(tmp, name);

describe('outputs are checked before any work', () => {
  it('mnist-train --out FIFO: one line, exit 1, the FIFO left a FIFO (case 2)', () => {
    spawnSync('mkfifo', [at('fifo')]);
    const r = runBin('mnist-train', ['--out', at('fifo'), '--limit', '100', '--epochs', '1']);
    expectOneLineError(r, /^error: --out .*fifo: a FIFO \(named pipe\), not a regular file; it was left as it is; hint: choose a regular file path$/);
    expect(r.stdout).toBe('');
    expect(lstatSync(at('fifo')).isFIFO()).toBe(true);
  });

  it('mnist-eval W --report W: refused before reading W, which is unchanged (case 3)', () => {
    writeFileSync(at('w.json'), '{"precious": true}');
    const r = runBin('mnist-eval', [at('w.json'), '--report', at('w.json')]);
    expectOneLineError(r, /^error: --report .*w\.json: is also the weights file .* this command reads; writing it would destroy it/);
    expect(readFileSync(at('w.json'), 'utf8')).toBe('{"precious": true}');
  });

  it('mnist-train --hidden 18000: refused in one line before the data is loaded (case 6)', () => {
    const r = runBin('mnist-train', ['--hidden', '18000', '--out', at('big.json')]);
    expectOneLineError(r, /^error: --hidden: 14,310,010 parameters make a weights file of up to 655 MB .*; hint: use a smaller model$/);
    expect(r.stdout).toBe('');
    expect(existsSync(at('big.json'))).toBe(false);
  });
});

describe('a closed stdout is not a success (case 5)', () => {
  it('mnist-train | (reader gone before training): exit 130, saying so, nothing written', async () => {
    const child = spawn(process.execPath, [`${ROOT}bin/mnist-train.mjs`, '--epochs', '2', '--limit', '500', '--test-limit', '100', '--hidden', '16', '--out', at('piped.json')], {
      cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/stdout was closed \(the program reading it has ended\)\ninterrupted before training started; nothing was written/);
    expect(existsSync(at('piped.json'))).toBe(false);
  });
});
