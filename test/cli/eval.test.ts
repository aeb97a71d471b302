import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/image-io.ts';
import { expectOneLineError, runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-eval-test-'));
const weights = join(tmp, 'w5.json');
let trainerAcc = '';

beforeAll(() => {
  // a 5-epoch MLP (small, on 3,000 images) measured by the trainer on the full test set
  const r = runBin('mnist-train', ['--model', 'mlp', '--hidden', '32', '--epochs', '5', '--limit', '3000', '--seed', '3', '--out', weights]);
  expect(r.code, r.stderr).toBe(0);
  trainerAcc = /^test accuracy (\d+\.\d\d%) after 5 epochs/m.exec(r.stdout)?.[1] ?? '';
  expect(trainerAcc).not.toBe('');
}, 300_000);

describe('mnist-eval (spawned)', () => {
  it('prints the accuracy the trainer reported, to the last digit, and the full report', () => {
    const r = runBin('mnist-eval', [weights]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout).toMatch(new RegExp(`^accuracy +${trainerAcc.replace('.', '\\.')} +\\([\\d,]+/10,000 correct\\) += what the trainer reported after epoch 5$`, 'm'));
    expect(r.stdout).toMatch(/^mean loss +\d\.\d{4}$/m);
    expect(r.stdout).toMatch(/^speed +[\d,]+ samples\/s/m);
    // a 10×10 confusion matrix whose rows add up to the test set
    const rows = r.stdout.split('\n').filter((l) => /^ {3}\d( +\d+){10}$/.test(l));
    expect(rows).toHaveLength(10);
    const total = rows.reduce((s, l) => s + l.trim().split(/ +/).slice(1).reduce((a, b) => a + Number(b), 0), 0);
    expect(total).toBe(10_000);
    expect(r.stdout.split('\n').filter((l) => /^\d +\d+\.\d\d% +\d+\.\d\d% +\d+\.\d\d% +[\d,]+$/.test(l))).toHaveLength(10);
    expect(r.stdout).toMatch(/^macro /m);
    expect(r.stdout).toMatch(/most confused pairs\n {2}\d → \d +\d+ times/);
  });

  it('--json prints one JSON document with the same numbers and nothing else on stdout', () => {
    const r = runBin('mnist-eval', [weights, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(`${(doc.accuracy * 100).toFixed(2)}%`).toBe(trainerAcc);
    expect(doc).toMatchObject({ dataset: 'mnist', split: 'test', count: 10_000, model: { name: 'mlp' }, trainer: { epoch: 5, matches: true } });
    const w = JSON.parse(readFileSync(weights, 'utf8'));
    expect(doc.trainer.testAccuracy).toBe(w.metrics.at(-1).testAccuracy);
    expect(doc.accuracy).toBe(w.metrics.at(-1).testAccuracy);
    expect(doc.confusion).toHaveLength(10);
    const diag = doc.confusion.reduce((s: number, row: number[], i: number) => s + row[i], 0);
    expect(diag / 10_000).toBeCloseTo(doc.accuracy, 12);
    expect(doc.perClass).toHaveLength(10);
    for (const m of doc.perClass) expect(Object.keys(m).sort()).toEqual(['f1', 'index', 'name', 'precision', 'predicted', 'recall', 'support']);
    expect(doc.confusedPairs.length).toBeGreaterThan(0);
    expect(doc.confusedPairs[0].count).toBeGreaterThanOrEqual(doc.confusedPairs.at(-1).count);
  });

  it('--split train --limit N evaluates the first N training images (no trainer comparison)', () => {
    const r = runBin('mnist-eval', [weights, '--split', 'train', '--limit', '500', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ split: 'train', count: 500 });
    expect(doc.trainer).toBeUndefined();
    expect(doc.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(500);
  });

  it('--errors DIR writes each misclassified image and a contact sheet', () => {
    const dir = join(tmp, 'errors');
    const r = runBin('mnist-eval', [weights, '--limit', '300', '--errors', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const wrong = 300 - Math.round(doc.accuracy * 300);
    expect(wrong).toBeGreaterThan(0);
    const files = readdirSync(dir).filter((f) => f !== 'contact-sheet.png');
    expect(files).toHaveLength(wrong);
    expect(doc.errors).toMatchObject({ written: wrong, sheetCount: wrong });
    for (const f of files) {
      const m = /^(\d{3})-true-(\d)-pred-(\d)\.png$/.exec(f);
      expect(m, f).not.toBeNull();
      expect(m![2]).not.toBe(m![3]);
      const img = decodeImage(readFileSync(join(dir, f)));
      expect([img.width, img.height]).toEqual([28, 28]);
    }
    const sheet = decodeImage(readFileSync(join(dir, 'contact-sheet.png')));
    expect(sheet.width).toBeGreaterThan(28);
  });

  it.each([
    [['/nonexistent/w.json'], /^error: \/nonexistent\/w\.json: no such file/],
    [['package.json'], /^error: package\.json: /],
    [['--split', 'dev'], /--split/],
    [['--limit', '0'], /--limit/],
  ])('fails with one line for %j', (args, pattern) => {
    const r = runBin('mnist-eval', args[0].startsWith('-') ? [weights, ...args] : args);
    expectOneLineError(r, pattern);
    expect(r.stdout).toBe('');
  });

  it('--min-accuracy passes at the accuracy it measured and fails, with one line, just above it', () => {
    const acc = Number(trainerAcc.replace('%', ''));
    expect(runBin('mnist-eval', [weights, '--min-accuracy', String(acc)]).code).toBe(0);
    const above = (acc + 0.01).toFixed(2);
    const r = runBin('mnist-eval', [weights, '--min-accuracy', `${above}%`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: accuracy ${trainerAcc} is below --min-accuracy ${Number(above)}%\n`);
    expect(r.stdout).toMatch(/^accuracy +\d/m);
  });

  it('asks for --dataset when the weights file names a dataset it does not know', () => {
    const w = JSON.parse(readFileSync(weights, 'utf8'));
    w.dataset = 'emnist';
    const bad = join(tmp, 'emnist.json');
    writeFileSync(bad, JSON.stringify(w));
    const r = runBin('mnist-eval', [bad]);
    expectOneLineError(r, /names dataset "emnist", which mnist-eval does not know/);
    expect(r.stderr).toMatch(/; hint: pass --dataset mnist\|fashion-mnist$/m);
  });
});
