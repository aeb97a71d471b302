// The --model presets end to end on tiny subsets (CI trains nothing large): each trains with
// augmentation (cnn-bn on two threads, through the shared batch statistics), and its weights load
// in mnist-eval (same accuracy as the trainer's), mnist-predict and mnist-train --resume.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digit, encodePng, mnistTest } from '../data/image-fixtures.ts';
import { runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-presets-'));

describe.each([
  ['cnn', 'shift', '1'],
  ['cnn-bn', 'affine', '2'],
])('--model %s (--augment %s, %s threads)', (model, augment, threads) => {
  const out = join(tmp, `${model}.json`);
  it('trains, and mnist-eval reads the accuracy the trainer reported', () => {
    const r = runBin('mnist-train', ['--model', model, '--augment', augment, '--threads', threads, '--epochs', '1', '--limit', '256', '--test-limit', '100', '--batch-size', '32', '--out', out, '--json', '--quiet']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.model.name).toBe(model);
    const w = JSON.parse(readFileSync(out, 'utf8'));
    expect(w.training).toMatchObject({ augment, threads: Number(threads) });
    if (model === 'cnn-bn') expect(w.state['1.num_batches_tracked']).toEqual({ shape: [], data: [8] });
    const ev = runBin('mnist-eval', [out, '--limit', '100', '--json']);
    expect(ev.code).toBe(0);
    expect(JSON.parse(ev.stdout).accuracy).toBe(summary.final.testAccuracy);
  }, 300_000);

  it('mnist-predict reads a picture with it', async () => {
    const test = await mnistTest();
    const png = join(tmp, `${model}-digit.png`);
    writeFileSync(png, encodePng({ width: 28, height: 28, colorType: 0, bitDepth: 8, samples: digit(test, 0) }));
    const r = runBin('mnist-predict', ['--weights', out, '--json', png]);
    expect(r.code).toBe(0);
    const [res] = JSON.parse(r.stdout).results;
    expect(res.digit).toBeGreaterThanOrEqual(0);
    expect(res.probability).toBeGreaterThan(0);
  }, 300_000);

  it('--resume continues it to 2 epochs with its augmentation', () => {
    const r = runBin('mnist-train', ['--resume', out, '--epochs', '2', '--quiet']);
    expect(r.code).toBe(0);
    const w = JSON.parse(readFileSync(out, 'utf8'));
    expect(w.metrics).toHaveLength(2);
    expect(w.training.augment).toBe(augment);
  }, 300_000);
});
