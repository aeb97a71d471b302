// A compact text chart of a run's history for the end of mnist-train: one sparkline row per
// series (train/test loss, train/test accuracy), plain text that reads the same in a CI log.
import type { EpochRecord } from '../weights/checkpoint.ts';

const TICKS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled so lo is the lowest tick and hi the highest. */
export function sparkline(values: readonly number[], lo: number, hi: number): string {
  const span = hi - lo;
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      const t = span > 0 ? (v - lo) / span : 0.5;
      return TICKS[Math.min(TICKS.length - 1, Math.max(0, Math.round(t * (TICKS.length - 1))))];
    })
    .join('');
}

/** At most `width` records, evenly spaced, always keeping the first and the last. */
function sample<T>(items: readonly T[], width: number): T[] {
  if (items.length <= width) return [...items];
  return Array.from({ length: width }, (_, i) => items[Math.round((i * (items.length - 1)) / (width - 1))]);
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * Loss and accuracy per epoch as four sparkline rows; train and test share a scale per metric,
 * so the gap between them shows. Returns '' for fewer than two epochs.
 */
export function formatChart(history: readonly EpochRecord[], width = 60): string {
  if (history.length < 2) return '';
  const h = sample(history, width);
  const series = (key: keyof EpochRecord) => h.map((m) => m[key]);
  const trainLoss = series('trainLoss'), testLoss = series('testLoss');
  const trainAcc = series('trainAccuracy'), testAcc = series('testAccuracy');
  const range = (a: number[], b: number[]) => {
    const all = [...a, ...b].filter(Number.isFinite);
    return [Math.min(...all), Math.max(...all)] as const;
  };
  const [lLo, lHi] = range(trainLoss, testLoss);
  const [aLo, aHi] = range(trainAcc, testAcc);
  const first = history[0], last = history[history.length - 1];
  const best = history.reduce((b, m) => (m.testAccuracy > b.testAccuracy ? m : b));
  const sampled = h.length < history.length ? ` (every ~${(history.length / h.length).toFixed(1)} epochs)` : '';
  const row = (label: string, line: string, from: string, to: string, extra = '') => `${label.padEnd(15)}${line}  ${from} → ${to}${extra}`;
  return [
    `history, epochs ${first.epoch}..${last.epoch}${sampled}:`,
    row('  loss   train ', sparkline(trainLoss, lLo, lHi), first.trainLoss.toFixed(4), last.trainLoss.toFixed(4)),
    row('         test  ', sparkline(testLoss, lLo, lHi), first.testLoss.toFixed(4), last.testLoss.toFixed(4)),
    row('  acc    train ', sparkline(trainAcc, aLo, aHi), pct(first.trainAccuracy), pct(last.trainAccuracy)),
    row('         test  ', sparkline(testAcc, aLo, aHi), pct(first.testAccuracy), pct(last.testAccuracy), `  (best ${pct(best.testAccuracy)} at epoch ${best.epoch})`),
  ].join('\n');
}
