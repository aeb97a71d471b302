// Every usage error of mnist-train, spawned as a user runs it (the fast suite spawns a few of them,
// train-robust.test.ts): one line on stderr, exit 1, before any training, and --resume conflicts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineError, runBin, startBin } from './helpers.ts';
import { expectUsageError, usageCases } from './train-usage.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-train-usage-'));
const at = (name: string) => join(tmp, name);
const start = (args: string[]) => startBin('mnist-train', args);

describe('bad command lines: one line, exit 1, before training', () => {
  it.concurrent.each(usageCases(tmp))('%j', expectUsageError);

  describe('with a weights file to resume', () => {
    const base = at('base.json');
    it('is made by a one-epoch run (with augmentation, which the file records)', () => {
      expect(runBin('mnist-train', ['--limit', '300', '--test-limit', '100', '--hidden', '8', '--epochs', '1', '--lr', '0.002', '--augment', 'shift', '--out', base, '--quiet']).code).toBe(0);
      expect(JSON.parse(readFileSync(base, 'utf8')).training.augment).toBe('shift');
    });
    it.concurrent.each<[string[], RegExp]>([
      [['--lr', '0.1'], /^error: --lr 0\.1 conflicts with --resume .*base\.json, which was trained with --lr 0\.002/],
      [['--optimizer', 'sgd'], /^error: --optimizer sgd conflicts with --resume .*, which was trained with --optimizer adam/],
      [['--limit', '100'], /^error: --limit 100 conflicts with --resume .*, which was trained with --limit 300/],
      [['--hidden', '64'], /^error: the model flags describe "flatten linear\(64\) relu linear\(10\)", but --resume .* holds "flatten linear\(8\) relu linear\(10\)"/],
      [['--epochs', '1'], /^error: --epochs 1: --resume .*base\.json has already completed 1 epoch/],
      [['--augment', 'none', '--epochs', '2'], /^error: --augment none conflicts with --resume .*, which was trained with --augment shift/],
      [[], /^error: --resume .*base\.json: training already finished \(1\/1 epochs\)/],
    ])('refuses --resume with %j', async (args, pattern) => {
      const r = await start(['--resume', base, ...args]).done;
      expectOneLineError(r, pattern);
    });
  });
});
