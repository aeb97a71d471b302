import { beforeAll, describe, expect, it } from 'vitest';
import { augmentShowcase } from '../../src/data/augment.ts';
import { Batcher, subset } from '../../src/data/batches.ts';
import { collectMisclassified } from '../../src/report/metrics.ts';
import { niceCeil, reportPage, trainingReportHtml, type ReportData } from '../../src/report/report-page.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { augmentedRows, count, expectSelfContained, loadCnn, loadTrace, mnistTest } from './helpers.ts';

/** The fixture CNN on the first 1000 test images, as mnist-train --report would show it. */
function fixtureReport(): { data: ReportData; predictions: Int32Array } {
  const { model, file } = loadCnn();
  const test = subset(mnistTest(), 1000);
  const ev = evaluate(model, new Batcher(test, { batchSize: 250, mean: file.input.mean, std: file.input.std }), 10);
  const mis = collectMisclassified(test, ev.predictions, 20);
  return {
    data: {
      command: 'mnist-train', modelLabel: 'cnn-small', classes: file.classes, epochs: file.metrics, evaluation: ev, splitLabel: 'test',
      misclassified: mis.items, misclassifiedTotal: mis.total, rows: 28, cols: 28,
    },
    predictions: ev.predictions,
  };
}

describe('report page for the CNN fixture', () => {
  // built in beforeAll, so a missing fixture fails these tests, not the file's collection
  let data: ReportData, predictions: Int32Array, html: string;
  beforeAll(() => {
    ({ data, predictions } = fixtureReport());
    html = reportPage(data);
  });

  it('evaluates to the predictions PyTorch made with the same weights', () => {
    expect(Array.from(predictions)).toEqual(loadTrace().first1000Predictions);
  });

  it('draws loss and accuracy curves with a train and a test point per epoch', () => {
    expect(count(html, /<svg class="curve"/)).toBe(2);
    expect(count(html, /<circle class="pt"/)).toBe(2 * 2 * data.epochs.length);
    const e = data.epochs[3];
    expect(html).toContain(`<title>test, epoch 4: ${(e.testAccuracy * 100).toFixed(2)}%</title>`);
    expect(html).toContain(`<td>${e.trainLoss.toFixed(4)}</td>`);
  });

  it('shows the confusion matrix cell by cell, rows summing to the class counts', () => {
    const cells = [...html.matchAll(/<td class="cell( diag)?"[^>]*>(\d*)<\/td>/g)];
    expect(cells.length).toBe(100);
    expect(cells.filter((m) => m[1]).length).toBe(10);
    const values = cells.map((m) => Number(m[2] || 0));
    expect(values).toEqual(Array.from(data.evaluation.confusion));
    const labels = mnistTest().labels.subarray(0, 1000);
    for (let t = 0; t < 10; t++) {
      const row = values.slice(t * 10, t * 10 + 10).reduce((a, b) => a + b, 0);
      expect(row).toBe(labels.filter((l) => l === t).length);
    }
  });

  it('lists misclassified digits with true and predicted labels', () => {
    const figs = [...html.matchAll(/<figure class="miss" data-index="(\d+)" data-true="(\d)" data-predicted="(\d)"/g)];
    const wrong = Array.from(predictions).flatMap((p, i) => (p !== mnistTest().labels[i] ? [i] : []));
    expect(data.misclassifiedTotal).toBe(wrong.length);
    expect(figs.map((m) => Number(m[1]))).toEqual(wrong.slice(0, 20));
    for (const m of figs) {
      expect(Number(m[2])).toBe(mnistTest().labels[Number(m[1])]);
      expect(Number(m[3])).toBe(predictions[Number(m[1])]);
    }
    expect(html).toContain(`the first 20 of ${wrong.length} misclassified images`);
  });

  it('is self-contained', () => {
    expectSelfContained(html);
  });

  it('is what trainingReportHtml builds from an Evaluation and the split', () => {
    const { model, file } = loadCnn();
    const test = subset(mnistTest(), 1000);
    const ev = evaluate(model, new Batcher(test, { batchSize: 250, mean: file.input.mean, std: file.input.std }), 10);
    const page = trainingReportHtml({
      command: 'mnist-train', modelLabel: 'cnn-small', classes: file.classes, epochs: file.metrics, evaluation: ev, split: test, splitLabel: 'test', maxMisclassified: 20,
    });
    expect(page).toBe(html);
  });
});

describe('report page edge cases', () => {
  const base: ReportData = {
    command: 'mnist-eval', classes: ['a', 'b'], epochs: [],
    evaluation: { loss: 0.1, accuracy: 1, count: 2, confusion: Int32Array.from([1, 0, 0, 1]) },
    misclassified: [], misclassifiedTotal: 0, rows: 2, cols: 2,
  };

  it('says when there is no training history and no error', () => {
    const html = reportPage(base);
    expect(html).toContain('no per-epoch history was recorded');
    expect(count(html, /<svg class="curve"/)).toBe(0);
    expect(html).toContain('none: every image was classified correctly');
    expect(count(html, /<td class="cell/)).toBe(4);
  });

  it('escapes class names, the model label and facts', () => {
    const html = reportPage({
      ...base, classes: ['<i>T-shirt</i>', 'Bag&'], modelLabel: '<script>x</script>', facts: [['weights', '"w".json']],
      misclassified: [{ index: 0, label: 0, predicted: 1, pixels: new Uint8Array(4) }], misclassifiedTotal: 1,
    });
    expect(html).not.toMatch(/<i>|<script>x/);
    expect(html).toContain('&lt;i&gt;T-shirt&lt;/i&gt;');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('&quot;w&quot;.json');
    expect(count(html, /<script/)).toBe(0);
    expectSelfContained(html);
  });

  it('rejects a confusion matrix of the wrong size', () => {
    expect(() => reportPage({ ...base, evaluation: { ...base.evaluation, confusion: new Int32Array(9) } })).toThrow(/9 cells for 2 classes/);
  });

  it('rounds the loss axis up to a round number', () => {
    expect([0.5384, 0.1, 2.3, 0.031, 7].map(niceCeil)).toEqual([0.8, 0.1, 2.5, 0.04, 8]);
  });
});

describe('report page: the digits --augment feeds the model', () => {
  const base: ReportData = {
    command: 'mnist-train', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], epochs: [],
    evaluation: { loss: 0.1, accuracy: 1, count: 2, confusion: new Int32Array(100) },
    misclassified: [], misclassifiedTotal: 0, rows: 28, cols: 28,
  };
  const split = mnistTest();
  const digit = (i: number) => split.images.subarray(i * 784, (i + 1) * 784);

  it('shows each of the first images as stored, then its draws; --augment shift draws whole-pixel moves of at most 2 px', () => {
    const html = reportPage({ ...base, augmented: { mode: 'shift', samples: augmentShowcase(split, 'shift', 1, 4, 5) } });
    expect(count(html, /<section class="card" id="augmented">/)).toBe(1);
    expect(count(html, /<figure class="aug /)).toBe(4 * 6);
    expect(html).toContain('--augment shift: the first 4 training images as stored, then 5 draws');
    const rows = augmentedRows(html);
    expect(rows.map((r) => [r.index, r.label])).toEqual([0, 1, 2, 3].map((i) => [i, split.labels[i]]));
    for (const r of rows) {
      expect(r.kinds).toEqual(['stored', 'drawn', 'drawn', 'drawn', 'drawn', 'drawn']);
      const src = digit(r.index);
      expect(r.pictures[0]).toEqual(src);
      // independent of the augmenter: each draw is the stored image moved by a whole (dx, dy)
      // within ±2, zeros moved in; the five draws are not all the same move
      const moves = r.pictures.slice(1).map((p) => {
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            const moved = Uint8Array.from({ length: 784 }, (_, k) => {
              const y = Math.floor(k / 28) - dy, x = (k % 28) - dx;
              return y >= 0 && y < 28 && x >= 0 && x < 28 ? src[y * 28 + x] : 0;
            });
            if (moved.every((v, k) => v === p[k])) return `${dx},${dy}`;
          }
        }
        return 'none';
      });
      expect(moves).not.toContain('none');
      expect(new Set(moves).size).toBeGreaterThan(1);
    }
    expectSelfContained(html);
  });

  it('draws affine augmentation: pictures that differ from the stored image, with the ink kept', () => {
    const html = reportPage({ ...base, augmented: { mode: 'affine', samples: augmentShowcase(split, 'affine', 7, 3, 2) } });
    const rows = augmentedRows(html);
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      const ink = (p: Uint8Array) => p.reduce((a, b) => a + b, 0);
      for (const p of r.pictures.slice(1)) {
        expect(p).not.toEqual(r.pictures[0]);
        // rotation, ±10% scale and a 2-px shift move the ink, they neither erase nor double it
        expect(ink(p) / ink(r.pictures[0])).toBeGreaterThan(0.7);
        expect(ink(p) / ink(r.pictures[0])).toBeLessThan(1.4);
      }
    }
  });

  it('has no such section for a run without augmentation (nor for mnist-eval)', () => {
    for (const html of [reportPage(base), reportPage({ ...base, augmented: { mode: 'affine', samples: [] } })]) {
      expect(html).not.toContain('id="augmented"');
      expect(count(html, /<figure class="aug /)).toBe(0);
    }
  });

  it('trainingReportHtml passes the digits through', () => {
    const predictions = new Int32Array(10);
    const test = subset(split, 10);
    const samples = augmentShowcase(split, 'elastic', 3, 2, 3);
    const html = trainingReportHtml({ ...base, evaluation: { ...base.evaluation, predictions }, split: test, augmented: { mode: 'elastic', samples } });
    expect(augmentedRows(html).map((r) => r.pictures.length)).toEqual([4, 4]);
    expect(html).toContain('--augment elastic');
  });
});

describe('collectMisclassified', () => {
  const split = { images: Uint8Array.from({ length: 5 * 4 }, (_, i) => i), labels: Uint8Array.from([0, 1, 2, 3, 4]), count: 5, rows: 2, cols: 2 };

  it('keeps the wrong ones in order, with their pixels, up to the limit', () => {
    const { items, total } = collectMisclassified(split, [0, 2, 2, 0, 1], 2);
    expect(total).toBe(3);
    expect(items.map((m) => [m.index, m.label, m.predicted])).toEqual([[1, 1, 2], [3, 3, 0]]);
    expect(Array.from(items[1].pixels)).toEqual([12, 13, 14, 15]);
  });

  it('rejects predictions that do not match the images', () => {
    expect(() => collectMisclassified(split, [0, 1])).toThrow(/2 predictions for 5 images/);
  });
});
