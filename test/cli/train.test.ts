import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, dataDirWith, expectOneLineError, mnistFile, runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-train-test-'));

describe('mnist-train (spawned)', () => {
  it('trains an MLP on a small subset to an accuracy an untrained model cannot reach, and writes the weights file', () => {
    const out = join(tmp, 'w.json');
    const r = runBin('mnist-train', ['--model', 'mlp', '--epochs', '1', '--limit', '5000', '--test-limit', '1000', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // off a TTY: no ANSI codes, one line per epoch
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout.match(/^epoch \d+\/1 /gm)).toHaveLength(1);
    const w = JSON.parse(readFileSync(out, 'utf8'));
    expect(w.format).toBe('mnist-ts-weights');
    expect(w.state['1.weight'].shape).toEqual([256, 784]);
    expect(w.state['1.weight'].data).toHaveLength(256 * 784);
    expect(w.state['3.weight'].shape).toEqual([10, 256]);
    expect(w.state['3.bias'].shape).toEqual([10]);
    expect(w.metrics).toHaveLength(1);
    // chance is 10%; 5,000 images and one epoch give about 90%
    expect(w.metrics[0].testAccuracy).toBeGreaterThan(0.85);
    expect(r.stdout).toContain(`${(w.metrics[0].testAccuracy * 100).toFixed(2)}%`);
  });

  it('prints the same losses for the same seed', () => {
    const args = ['--epochs', '1', '--limit', '1000', '--test-limit', '200', '--seed', '7', '--hidden', '32'];
    const a = runBin('mnist-train', [...args, '--out', join(tmp, 'a.json')]);
    const b = runBin('mnist-train', [...args, '--out', join(tmp, 'b.json')]);
    const losses = (s: string) => s.match(/loss \d+\.\d+/g);
    expect(a.code).toBe(0);
    expect(losses(a.stdout)).toEqual(losses(b.stdout));
  });

  it('--min-accuracy: exit 1 with one line when the final accuracy falls short, the weights still written', () => {
    const out = join(tmp, 'gate.json');
    const r = runBin('mnist-train', ['--epochs', '1', '--limit', '500', '--test-limit', '200', '--hidden', '16', '--min-accuracy', '99.5', '--json', '--out', out]);
    const summary = JSON.parse(r.stdout);
    const acc = summary.final.testAccuracy as number;
    expect(acc).toBeLessThan(0.995);
    expect([summary.status, summary.minAccuracy, summary.passed]).toEqual(['completed', 99.5, false]);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`error: test accuracy ${(acc * 100).toFixed(2)}% is below --min-accuracy 99.5% (the weights are saved in ${out})`);
    expect(r.code).toBe(1);
    expect(JSON.parse(readFileSync(out, 'utf8')).metrics).toHaveLength(1);
  });

  it.each([
    [['--min-accuracy', '101'], /--min-accuracy.*percentage/],
    [['--epochs', '0'], /--epochs/],
    [['--lr', '-1'], /--lr/],
    [['--batch-size', '0'], /--batch-size/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--out', '/nonexistent-dir/w.json'], /--out .*does not exist/],
    [['--out', ROOT + 'src'], /--out .*is a directory/],
  ])('rejects %j with one line and exit 1 before training', (args, pattern) => {
    const r = runBin('mnist-train', [...args, '--limit', '100']);
    expectOneLineError(r, pattern);
    expect(r.stdout).not.toMatch(/^epoch/m);
  });

  it('a --data-dir with an IDX file of the wrong magic: one line naming the file (the other broken files: data-dir.slow.test.ts)', () => {
    const b = mnistFile('t10k-labels-idx1-ubyte');
    b.writeUInt32BE(2051, 0);
    const dir = dataDirWith(tmp, { 't10k-labels-idx1-ubyte': b });
    expectOneLineError(runBin('mnist-train', ['--data-dir', dir, '--out', join(tmp, 'x.json')]), /t10k-labels-idx1-ubyte.*magic 2049.*2051/);
  });
});

describe('mnist-train --show-augment', () => {
  it('prints the first training images as stored and as the augmentation draws them, then exits without training', () => {
    const out = join(tmp, 'never.json');
    const r = runBin('mnist-train', ['--show-augment', '--augment', 'affine', '--limit', '10', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^--augment affine: each row is one training image as stored, then as 1 epoch could draw it$/m);
    // MNIST's first four training labels, each above its pictures: 28 columns wide, 14 lines of two pixel rows
    expect(r.stdout.match(/^\d$/gm)).toEqual(['5', '0', '4', '1']);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('│'));
    expect(rows).toHaveLength(4 * 14);
    expect(rows[0]).toMatch(/^│.{28}│ │.{28}│$/u);
    // the drawn view differs from the stored one
    const sides = rows.map((l) => [l.slice(1, 29), l.slice(32, 60)]);
    expect(sides.some(([a, b]) => a !== b)).toBe(true);
    expect(r.stdout).not.toMatch(/^epoch/m);
    expect(existsSync(out)).toBe(false);
  });
});
