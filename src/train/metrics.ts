// Summaries of a confusion matrix: per-class precision / recall / F1 and the most confused
// pairs. Pure; confusion[t * classes + p] counts samples of true class t predicted as p.
import { ShapeError } from '../engine/errors.ts';

export interface ClassMetrics {
  /** Class index. */
  index: number;
  /** Of the samples predicted as this class, the fraction that are (0 when none were predicted). */
  precision: number;
  /** Of the samples of this class, the fraction predicted as it (0 when there were none). */
  recall: number;
  /** Harmonic mean of precision and recall (0 when both are 0). */
  f1: number;
  /** Samples whose true class this is. */
  support: number;
  /** Samples predicted as this class. */
  predicted: number;
}

export interface ConfusedPair {
  actual: number;
  predicted: number;
  count: number;
  /** count / samples of the actual class. */
  rate: number;
}

function checkConfusion(confusion: ArrayLike<number>, classes: number): void {
  if (!Number.isInteger(classes) || classes < 1 || confusion.length !== classes * classes) {
    throw new ShapeError(`confusion matrix: ${confusion.length} cells do not make a ${classes}×${classes} matrix`);
  }
}

/** Precision, recall and F1 for every class. */
export function classMetrics(confusion: ArrayLike<number>, classes: number): ClassMetrics[] {
  checkConfusion(confusion, classes);
  const out: ClassMetrics[] = [];
  for (let c = 0; c < classes; c++) {
    const tp = confusion[c * classes + c];
    let support = 0, predicted = 0;
    for (let k = 0; k < classes; k++) {
      support += confusion[c * classes + k];
      predicted += confusion[k * classes + c];
    }
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    out.push({ index: c, precision, recall, f1, support, predicted });
  }
  return out;
}

/** Unweighted mean of precision, recall and F1 over the classes that have samples. */
export function macroAverage(metrics: readonly ClassMetrics[]): { precision: number; recall: number; f1: number } {
  const present = metrics.filter((m) => m.support > 0);
  const mean = (f: (m: ClassMetrics) => number) => (present.length ? present.reduce((s, m) => s + f(m), 0) / present.length : 0);
  return { precision: mean((m) => m.precision), recall: mean((m) => m.recall), f1: mean((m) => m.f1) };
}

/** The `top` largest off-diagonal cells, most frequent first (ties: by actual, then predicted class). */
export function confusedPairs(confusion: ArrayLike<number>, classes: number, top = 5): ConfusedPair[] {
  checkConfusion(confusion, classes);
  const pairs: ConfusedPair[] = [];
  for (let t = 0; t < classes; t++) {
    let support = 0;
    for (let k = 0; k < classes; k++) support += confusion[t * classes + k];
    for (let p = 0; p < classes; p++) {
      const count = confusion[t * classes + p];
      if (p !== t && count > 0) pairs.push({ actual: t, predicted: p, count, rate: count / support });
    }
  }
  pairs.sort((a, b) => b.count - a.count || a.actual - b.actual || a.predicted - b.predicted);
  return pairs.slice(0, top);
}
