import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/engine/errors.ts';
import { classMetrics, confusedPairs, macroAverage } from '../../src/train/metrics.ts';

// rows: true class, columns: predicted
//            p0  p1  p2
// t0:         5   1   0     support 6
// t1:         2   3   1     support 6
// t2:         0   4   0     support 4   (never predicted correctly)
const C = [5, 1, 0, 2, 3, 1, 0, 4, 0];

describe('classMetrics', () => {
  it('computes precision, recall and F1 worked out by hand', () => {
    const m = classMetrics(C, 3);
    // class 0: tp 5, predicted 7, support 6
    expect(m[0].precision).toBeCloseTo(5 / 7, 12);
    expect(m[0].recall).toBeCloseTo(5 / 6, 12);
    expect(m[0].f1).toBeCloseTo((2 * (5 / 7) * (5 / 6)) / (5 / 7 + 5 / 6), 12);
    expect([m[0].support, m[0].predicted]).toEqual([6, 7]);
    // class 1: tp 3, predicted 8, support 6 -> F1 = 2*3/(8+6)
    expect(m[1].precision).toBeCloseTo(3 / 8, 12);
    expect(m[1].recall).toBeCloseTo(0.5, 12);
    expect(m[1].f1).toBeCloseTo(6 / 14, 12);
    // class 2: predicted once, never right
    expect(m[2]).toMatchObject({ index: 2, precision: 0, recall: 0, f1: 0, support: 4, predicted: 1 });
  });

  it('defines 0/0 as 0 (a class never predicted, a class with no samples)', () => {
    const m = classMetrics([3, 0, 0, 0], 2);
    expect(m[1]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
    expect(m[0]).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    // the macro average skips the class without samples
    expect(macroAverage(m)).toEqual({ precision: 1, recall: 1, f1: 1 });
  });

  it('macro-averages over the classes', () => {
    const m = classMetrics(C, 3);
    expect(macroAverage(m).recall).toBeCloseTo((5 / 6 + 0.5 + 0) / 3, 12);
  });

  it('accepts Int32Array (what evaluate returns) and refuses a matrix of the wrong size', () => {
    expect(classMetrics(Int32Array.from(C), 3)[0].recall).toBeCloseTo(5 / 6, 12);
    expect(() => classMetrics(C, 4)).toThrow(ShapeError);
    expect(() => confusedPairs([1, 2, 3], 2)).toThrow(/3 cells do not make a 2×2 matrix/);
  });
});

describe('confusedPairs', () => {
  it('lists off-diagonal cells, most frequent first, with the rate among the true class', () => {
    expect(confusedPairs(C, 3)).toEqual([
      { actual: 2, predicted: 1, count: 4, rate: 1 },
      { actual: 1, predicted: 0, count: 2, rate: 2 / 6 },
      { actual: 0, predicted: 1, count: 1, rate: 1 / 6 },
      { actual: 1, predicted: 2, count: 1, rate: 1 / 6 },
    ]);
  });

  it('keeps the top k and returns none for a perfect classifier', () => {
    expect(confusedPairs(C, 3, 2).map((p) => [p.actual, p.predicted])).toEqual([[2, 1], [1, 0]]);
    expect(confusedPairs([4, 0, 0, 9], 2)).toEqual([]);
  });
});
