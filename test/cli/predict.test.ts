import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/image-io.ts';
import { preprocessImage } from '../../src/data/image.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { readWeights } from '../../src/weights/checkpoint.ts';
import type { Split } from '../../src/data/sources.ts';
import { PNG_SIGNATURE, canvas, chunk, digit, encodePng, ihdr, mnistTest } from '../data/image-fixtures.ts';
import { expectOneLineError, runBin } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mnist-predict-test-'));
const weights = join(tmp, 'w.json');
const f = (name: string) => join(tmp, name);
let test: Split;

/** Dark ink on white, the digit scaled up k times somewhere on a w×h canvas. */
function inkOnPaper(g: Uint8Array, k: number, w: number, h: number, ox: number, oy: number): Uint8Array {
  const cov = canvas(g, k, w, h, ox, oy);
  return Uint8Array.from(cov, (a) => Math.round(255 * (1 - a)));
}

beforeAll(async () => {
  test = await mnistTest();
  const r = runBin('mnist-train', ['--model', 'mlp', '--hidden', '64', '--epochs', '2', '--limit', '10000', '--test-limit', '500', '--seed', '1', '--out', weights]);
  expect(r.code, r.stderr).toBe(0);
  // test digits 0..4 are 7, 2, 1, 0, 4
  expect(Array.from(test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  writeFileSync(f('seven.png'), encodePng({ width: 400, height: 300, colorType: 0, bitDepth: 8, samples: inkOnPaper(digit(test, 0), 9, 400, 300, 150, 20) }));
  const two = canvas(digit(test, 1), 6, 200, 200, 10, 30);
  writeFileSync(f('two-transparent.png'), encodePng({ width: 200, height: 200, colorType: 6, bitDepth: 8, samples: Uint8Array.from({ length: 200 * 200 * 4 }, (_, i) => (i % 4 === 3 ? Math.round(two[i >> 2] * 255) : 20)) }));
  const one = inkOnPaper(digit(test, 2), 8, 300, 300, 40, 40);
  const rgba = Buffer.alloc(300 * 300 * 4);
  for (let i = 0; i < one.length; i++) rgba.set([one[i], one[i], one[i], 255], i * 4);
  writeFileSync(f('one.jpg'), jpeg.encode({ width: 300, height: 300, data: rgba }, 85).data);
  writeFileSync(f('blank.png'), encodePng({ width: 120, height: 80, colorType: 0, bitDepth: 8, samples: new Uint8Array(120 * 80).fill(250) }));
  writeFileSync(f('notes.png'), 'these are my notes, not a picture\n');
  const good = readFileSync(f('seven.png'));
  writeFileSync(f('truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
  writeFileSync(f('huge.png'), Buffer.concat([PNG_SIGNATURE, ihdr(100_000, 100_000, 8, 2), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', new Uint8Array(0))]));
}, 300_000);

describe('mnist-predict (spawned)', () => {
  it('recognises digits in a PNG, a transparent PNG and a JPEG, with top-3 bars', () => {
    const r = runBin('mnist-predict', ['--weights', weights, f('seven.png'), f('two-transparent.png'), f('one.jpg')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stdout).toMatch(new RegExp(`^${f('seven.png')}: 7 \\(\\d+\\.\\d%\\)`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${f('two-transparent.png')}: 2 \\(`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${f('one.jpg')}: 1 \\(`, 'm'));
    // three bar lines per file: "  7 ███▌  93.1%"
    expect(r.stdout.split('\n').filter((l) => /^ {2}\d [█▉▊▋▌▍▎▏ ]{20} +\d+\.\d%$/.test(l))).toHaveLength(9);
  });

  it('says "no digit found" for a blank image instead of guessing', () => {
    const r = runBin('mnist-predict', ['--weights', weights, f('blank.png')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/blank\.png: no digit found: the image is blank/);
    expect(r.stdout).not.toMatch(/[█▏]/);
  });

  it.each([
    ['notes.png', /^error: .*notes\.png: not a PNG or JPEG image$/],
    ['truncated.png', /^error: .*truncated\.png: truncated PNG/],
    ['huge.png', /^error: .*huge\.png: PNG header claims 100000×100000 pixels .*the limit is 50 megapixels$/],
    ['missing.png', /^error: .*missing\.png: no such file$/],
  ])('refuses %s with one line on stderr and exit 1, quickly', (name, pattern) => {
    const t0 = performance.now();
    const r = runBin('mnist-predict', ['--weights', weights, f(name)]);
    expectOneLineError(r, pattern);
    expect(r.stdout).toBe('');
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it('keeps going after a bad file in a batch and exits 1 at the end', () => {
    const r = runBin('mnist-predict', ['--weights', weights, f('seven.png'), f('truncated.png'), f('one.jpg')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: .*truncated\.png: truncated PNG/)]);
    expect(r.stdout).toMatch(/seven\.png: 7 /);
    expect(r.stdout).toMatch(/one\.jpg: 1 /);
  });

  it('--json prints one document with every result, errors included, and the probabilities the model gives', () => {
    const r = runBin('mnist-predict', ['--weights', weights, '--json', '--show', '--top', '5', f('seven.png'), f('blank.png'), f('notes.png')]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.results).toHaveLength(3);
    const [seven, blank, notes] = doc.results;
    expect(seven).toMatchObject({ digit: 7, label: '7' });
    expect(seven.top).toHaveLength(5);
    expect(seven.top[0].probability).toBe(seven.probability);
    // the 28×28 input it reports is what the same preprocessing gives in-process
    const pixels = Uint8Array.from(seven.pixels.flat());
    const pre = preprocessImage(decodeImage(readFileSync(f('seven.png'))));
    expect(pixels).toEqual(pre.pixels);
    // the same weights on that input, normalised by hand, softmax in float64: the top 5 in order
    const { file, model } = readWeights(readFileSync(weights, 'utf8'));
    model.eval();
    const x = Float32Array.from(pixels, (v) => (v / 255 - file.input.mean) / file.input.std);
    const logits = Array.from(model.forward(new Tensor([1, 1, 28, 28], x)).data);
    const max = Math.max(...logits);
    const e = logits.map((z) => Math.exp(z - max));
    const total = e.reduce((a, v) => a + v, 0);
    const probs = e.map((v) => v / total);
    const order = probs.map((_, k) => k).sort((a, b) => probs[b] - probs[a]);
    expect(seven.top.map((t: { digit: number }) => t.digit)).toEqual(order.slice(0, 5));
    seven.top.forEach((t: { digit: number; label: string; probability: number }) => {
      expect(t.label).toBe(String(t.digit));
      expect(Math.abs(t.probability - probs[t.digit]), `probability of ${t.digit}`).toBeLessThan(1e-6);
    });
    expect(seven.probability).toBeGreaterThan(0.5); // the model really recognises this 7
    expect(seven.input).toMatchObject({ inverted: true, alpha: 'none' });
    expect(blank).toMatchObject({ digit: null, noDigit: expect.stringMatching(/no digit found/) });
    expect(notes).toMatchObject({ digit: null, error: 'not a PNG or JPEG image' });
  });

  it('--show draws the 28×28 input with shade characters off a TTY; --save-input writes it', () => {
    const dir = join(tmp, 'inputs');
    const r = runBin('mnist-predict', ['--weights', weights, '--show', '--save-input', dir, f('seven.png')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    const rows = r.stdout.split('\n').filter((l) => /^ {2}│.{56}│$/.test(l));
    expect(rows).toHaveLength(28);
    expect(rows.join('')).toMatch(/█/);
    expect(r.stdout).toMatch(/dark ink on a light background \(inverted\)/);
    expect(readdirSync(dir)).toEqual(['seven.input.png']);
    const img = decodeImage(readFileSync(join(dir, 'seven.input.png')));
    expect([img.width, img.height]).toEqual([28, 28]);
    expect(Math.max(...img.data.filter((_, i) => i % 4 === 0))).toBe(255);
  });

  it('flags a low-confidence answer', () => {
    // an almost untrained model spreads its probability
    const weak = join(tmp, 'weak.json');
    expect(runBin('mnist-train', ['--hidden', '4', '--epochs', '1', '--limit', '16', '--batch-size', '16', '--test-limit', '10', '--lr', '0.0001', '--out', weak]).code).toBe(0);
    const r = runBin('mnist-predict', ['--weights', weak, f('seven.png')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/low confidence/);
  });

  it('fails with one line when the weights file is missing', () => {
    const r = runBin('mnist-predict', ['--weights', join(tmp, 'nope.json'), f('seven.png')]);
    expectOneLineError(r, /nope\.json: no such file/);
    expect(r.stderr).toMatch(/; hint: \S/);
  });
});
