import { describe, expect, it } from 'vitest';
import { formatChart, sparkline } from '../../src/cli/chart.ts';
import type { EpochRecord } from '../../src/weights/checkpoint.ts';

const rec = (epoch: number, trainLoss: number, testLoss: number, trainAccuracy: number, testAccuracy: number): EpochRecord =>
  ({ epoch, trainLoss, testLoss, trainAccuracy, testAccuracy, seconds: 1, samplesPerSecond: 1, lr: 0.1 });

describe('sparkline', () => {
  it('maps lo to the lowest tick, hi to the highest, and the middle between', () => {
    expect(sparkline([0, 1, 0.5], 0, 1)).toBe('▁█▅');
    expect(sparkline([2, 2], 2, 2)).toBe('▅▅');
    expect(sparkline([NaN, 1], 0, 1)).toBe(' █');
  });
});

describe('formatChart', () => {
  it('draws loss and accuracy per epoch, train and test on a shared scale, with first → last values', () => {
    const text = formatChart([rec(1, 2, 1, 0.5, 0.6), rec(2, 1, 0.8, 0.8, 0.85), rec(3, 0.5, 0.7, 0.9, 0.88)]);
    expect(text.split('\n')).toEqual([
      'history, epochs 1..3:',
      '  loss   train █▃▁  2.0000 → 0.5000',
      '         test  ▃▂▂  1.0000 → 0.7000',
      '  acc    train ▁▆█  50.00% → 90.00%',
      '         test  ▃▇█  60.00% → 88.00%  (best 88.00% at epoch 3)',
    ]);
  });

  it('says nothing for a single epoch', () => {
    expect(formatChart([rec(1, 1, 1, 0.5, 0.5)])).toBe('');
  });

  it('samples long runs down to the width, keeping the first and last epochs', () => {
    const h = Array.from({ length: 200 }, (_, i) => rec(i + 1, 200 - i, 200 - i, i / 200, i / 200));
    const lines = formatChart(h, 50).split('\n');
    expect(lines[0]).toBe('history, epochs 1..200 (every ~4.0 epochs):');
    const spark = lines[1].slice(15, 65);
    expect([...spark]).toHaveLength(50);
    expect(spark.startsWith('█') && spark.endsWith('▁')).toBe(true);
  });
});
