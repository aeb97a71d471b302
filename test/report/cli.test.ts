// The --report / --explain flags end to end: spawn the real commands and check the pages they write.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineError, runBin } from '../cli/helpers.ts';
import { augmentShowcase } from '../../src/data/augment.ts';
import { mnistData } from '../data/image-fixtures.ts';
import { FIXTURES, augmentedRows, count, expectSelfContained, loadTrace, mnistTest, pageData, testImage } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-report-cli-'));

describe('mnist-train --report', () => {
  it('writes the training report after the last epoch', () => {
    const report = join(tmp, 'report.html');
    const r = runBin('mnist-train', ['--hidden', '16', '--epochs', '2', '--limit', '600', '--test-limit', '300', '--out', join(tmp, 'w.json'), '--report', report]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report written to ${report}`);
    const html = readFileSync(report, 'utf8');
    expect(count(html, /<svg class="curve"/)).toBe(2);
    expect(count(html, /<circle class="pt"/)).toBe(2 * 2 * 2);
    const cells = [...html.matchAll(/<td class="cell(?: diag)?"[^>]*>(\d*)<\/td>/g)].map((m) => Number(m[1] || 0));
    expect(cells).toHaveLength(100);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(300);
    const w = JSON.parse(readFileSync(join(tmp, 'w.json'), 'utf8'));
    const errors = 300 - cells.filter((_, i) => i % 11 === 0).reduce((a, b) => a + b, 0);
    expect(Math.abs(errors / 300 - (1 - w.metrics[1].testAccuracy))).toBeLessThan(1e-9);
    expect(count(html, /<figure class="miss"/)).toBe(Math.min(100, errors));
    // trained without --augment: no augmented digits
    expect(html).not.toContain('id="augmented"');
    expectSelfContained(html);
  });

  it('with --augment, shows the first training digits as stored and as the run\'s seed draws them', async () => {
    const report = join(tmp, 'report-aug.html');
    const r = runBin('mnist-train', ['--hidden', '8', '--epochs', '1', '--limit', '200', '--test-limit', '100', '--augment', 'affine', '--seed', '4', '--out', join(tmp, 'w-aug.json'), '--report', report]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const html = readFileSync(report, 'utf8');
    const rows = augmentedRows(html);
    const train = (await mnistData()).train;
    expect(rows.map((x) => [x.index, x.label])).toEqual([0, 1, 2, 3].map((i) => [i, train.labels[i]]));
    // the draws --show-augment prints for --seed 4, as bytes
    const want = augmentShowcase(train, 'affine', 4, 4, 5);
    rows.forEach((row, i) => {
      expect(row.pictures[0]).toEqual(train.images.subarray(i * 784, (i + 1) * 784));
      expect(row.pictures.slice(1)).toEqual(want[i].drawn.map((v) => Uint8Array.from(v, (x) => Math.round(Math.min(1, Math.max(0, x)) * 255))));
    });
    expect(html).toContain('--augment affine: the first 4 training images');
  });

  it('rejects a report path in a missing directory before training', () => {
    const r = runBin('mnist-train', ['--limit', '100', '--out', join(tmp, 'x.json'), '--report', '/nonexistent-dir/r.html']);
    expectOneLineError(r, /--report \/nonexistent-dir\/r\.html: directory .* does not exist/);
    expect(r.stdout).not.toMatch(/^epoch/m);
    expect(existsSync(join(tmp, 'x.json'))).toBe(false);
  });

  it('lists the flag in --help', () => {
    expect(runBin('mnist-train', ['--help']).stdout).toMatch(/--report <file>/);
  });
});

/** MNIST test image i as a user's picture: dark ink on white, 4x larger. */
function writeDigitPng(i: number, path: string): void {
  const { pixels } = testImage(i);
  const f = 4, png = new PNG({ width: 28 * f, height: 28 * f });
  for (let y = 0; y < 28 * f; y++) {
    for (let x = 0; x < 28 * f; x++) {
      const o = 4 * (y * 28 * f + x);
      png.data[o] = png.data[o + 1] = png.data[o + 2] = 255 - pixels[Math.floor(y / f) * 28 + Math.floor(x / f)];
      png.data[o + 3] = 255;
    }
  }
  writeFileSync(path, PNG.sync.write(png));
}

describe('mnist-predict --explain', () => {
  const weights = join(FIXTURES, 'cnn-small.json');
  const picture = join(tmp, 'seven.png');
  writeDigitPng(0, picture);

  it('writes the explain page for the picture, with the prediction it printed', () => {
    const out = join(tmp, 'explain.html');
    const r = runBin('mnist-predict', [picture, '--weights', weights, '--explain', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/seven\.png: 7 \(/);
    expect(r.stdout).toContain(`explain page written to ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(count(html, /<section class="card layer"/)).toBe(8);
    expect(count(html, /<canvas class="map fmap/)).toBe(72);
    expect(html).toContain('<strong id="predicted" data-class="7">7</strong>');
    // the user's file is embedded as it is
    expect(html).toContain(`src="data:image/png;base64,${readFileSync(picture).toString('base64')}"`);
    expect(pageData(html).blocks.L0.count).toBe(8);
    expectSelfContained(html);
  });

  it('keeps stdout a JSON document with --json', () => {
    const out = join(tmp, 'explain-json.html');
    const r = runBin('mnist-predict', [picture, '--weights', weights, '--explain', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).results[0].digit).toBe(7);
    expect(existsSync(out)).toBe(true);
  });

  it.each([
    [[picture, picture], /--explain draws one picture, but 2 were given/],
    [[picture], /--explain \/nonexistent-dir\/e\.html: directory .* does not exist/],
  ])('rejects %j with one line and exit 1', (files, pattern) => {
    const out = files.length > 1 ? join(tmp, 'never.html') : '/nonexistent-dir/e.html';
    const r = runBin('mnist-predict', [...files, '--weights', weights, '--explain', out]);
    expectOneLineError(r, pattern);
    expect(existsSync(join(tmp, 'never.html'))).toBe(false);
  });
});

describe('mnist-eval --report', () => {
  it('writes the report with the curves stored in the weights file', () => {
    const out = join(tmp, 'eval-report.html');
    const r = runBin('mnist-eval', [join(FIXTURES, 'cnn-small.json'), '--limit', '1000', '--report', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report written to ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<h1>mnist-eval report</h1>');
    expect(count(html, /<circle class="pt"/)).toBe(2 * 2 * 4);
    const cells = [...html.matchAll(/<td class="cell(?: diag)?"[^>]*>(\d*)<\/td>/g)].map((m) => Number(m[1] || 0));
    expect(cells.reduce((a, b) => a + b, 0)).toBe(1000);
    // as many errors as PyTorch made with the same weights on the same images
    const labels = mnistTest().labels;
    const torchErrors = loadTrace().first1000Predictions.filter((p, i) => p !== labels[i]).length;
    expect(count(html, /<figure class="miss"/)).toBe(torchErrors);
    expectSelfContained(html);
  });

  it('rejects a report path in a missing directory before evaluating', () => {
    const r = runBin('mnist-eval', [join(FIXTURES, 'cnn-small.json'), '--report', '/nonexistent-dir/r.html']);
    expectOneLineError(r, /--report \/nonexistent-dir\/r\.html: directory .* does not exist/);
  });
});
