import { describe, expect, it } from 'vitest';
import { AUGMENT, Augmenter, IDENTITY, bilinear, blur, epochKey, gaussianKernel, sampleSeed, warp } from '../../src/data/augment.ts';
import { Batcher } from '../../src/data/batches.ts';
import type { Split } from '../../src/data/sources.ts';
import { Rng } from '../../src/engine/rng.ts';

const R = 28;
/** A 28x28 image with distinct values 1..784 (so every move shows). */
const ramp = () => Float32Array.from({ length: R * R }, (_, i) => i + 1);

describe('bilinear', () => {
  // grid [[0, 10], [20, 30]]: values at integer points, linear in between, 0 outside
  const g = [0, 10, 20, 30];
  it('returns the grid values at pixel centres and the hand-worked blends between them', () => {
    expect(bilinear(g, 2, 2, 0, 0)).toBe(0);
    expect(bilinear(g, 2, 2, 1, 1)).toBe(30);
    expect(bilinear(g, 2, 2, 0.5, 0)).toBe(5);
    expect(bilinear(g, 2, 2, 0, 0.5)).toBe(10);
    expect(bilinear(g, 2, 2, 0.5, 0.5)).toBe(15); // (0 + 10 + 20 + 30) / 4
    // weights (1-fx)(1-fy), fx(1-fy), (1-fx)fy, fx fy = 0.1875, 0.0625, 0.5625, 0.1875
    expect(bilinear(g, 2, 2, 0.25, 0.75)).toBeCloseTo(0.0625 * 10 + 0.5625 * 20 + 0.1875 * 30, 6); // 17.5
  });
  it('treats pixels beyond the border as background 0', () => {
    expect(bilinear(g, 2, 2, 1.5, 1)).toBe(15); // half of 30
    expect(bilinear(g, 2, 2, -1, 0)).toBe(0);
    expect(bilinear(g, 2, 2, 2, 2)).toBe(0);
  });
});

describe('warp', () => {
  it('rotation 0, scale 1, no shift is the identity, bit for bit', () => {
    const src = ramp();
    expect([...warp(src, R, R, IDENTITY, new Float32Array(R * R))]).toEqual([...src]);
  });
  it('a shift by exactly 1 px moves every pixel by one and brings in background', () => {
    const src = ramp();
    const right = warp(src, R, R, { angle: 0, scale: 1, dx: 1, dy: 0 }, new Float32Array(R * R));
    const down = warp(src, R, R, { angle: 0, scale: 1, dx: 0, dy: 1 }, new Float32Array(R * R));
    for (let y = 0; y < R; y++) {
      for (let x = 0; x < R; x++) {
        expect(right[y * R + x]).toBe(x === 0 ? 0 : src[y * R + x - 1]);
        expect(down[y * R + x]).toBe(y === 0 ? 0 : src[(y - 1) * R + x]);
      }
    }
  });
  it('a quarter turn maps rows to columns about the centre (a hand-placed pixel)', () => {
    const src = new Float32Array(R * R);
    src[13 * R + 20] = 1; // right of the centre (13.5, 13.5) by 6.5, above by 0.5
    const out = warp(src, R, R, { angle: Math.PI / 2, scale: 1, dx: 0, dy: 0 }, new Float32Array(R * R));
    // counter-clockwise on screen (y down): the right goes up, (x, y) = (13.5 - 0.5, 13.5 - 6.5) = (13, 7)
    expect(out[7 * R + 13]).toBeCloseTo(1, 5);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
  it('scale 2 doubles distances from the centre', () => {
    const src = new Float32Array(R * R);
    src[13 * R + 17] = 1; // 3.5 right of the centre
    const out = warp(src, R, R, { angle: 0, scale: 2, dx: 0, dy: 0 }, new Float32Array(R * R));
    // source column 17 is output x with (x - 13.5) / 2 + 13.5 = 17: x = 20.5; source row 13: y = 12.5;
    // so the pixel lands between columns 20, 21 and rows 12, 13 (spread over them by the resampling)
    let sum = 0;
    for (const y of [12, 13]) for (const x of [20, 21]) sum += out[y * R + x];
    expect(sum).toBeGreaterThan(0.9);
  });
});

describe('elastic field', () => {
  it('the Gaussian kernel sums to 1 and blurring a constant inside the border keeps it', () => {
    const k = gaussianKernel(4);
    expect(k.length).toBe(25);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const f = new Float32Array(60 * 60).fill(2);
    blur(f, 60, 60, k, new Float32Array(60 * 60));
    expect(f[30 * 60 + 30]).toBeCloseTo(2, 5);
    expect(f[0]).toBeLessThan(2 * 0.6); // zeros beyond the border
  });
});

describe('Augmenter', () => {
  const digit = new Uint8Array(R * R);
  for (let y = 6; y < 22; y++) for (let x = 11; x < 17; x++) digit[y * R + x] = 200;

  it('none returns the intensities; shift moves by whole pixels within ±SHIFT', () => {
    const out = new Float32Array(R * R);
    expect(new Augmenter('none', R, R).apply(digit, 5, out)[6 * R + 11]).toBeCloseTo(200 / 255, 6);
    const a = new Augmenter('shift', R, R);
    const seen = new Set<string>();
    for (let s = 0; s < 200; s++) {
      const t = a.drawAffine(new Rng(s));
      expect(Number.isInteger(t.dx) && Math.abs(t.dx) <= AUGMENT.SHIFT).toBe(true);
      seen.add(`${t.dx},${t.dy}`);
      a.apply(digit, s, out);
      // whole-pixel moves: every value is a source value (no blur)
      if (s < 20) expect(out.every((v) => v === 0 || Math.abs(v - 200 / 255) < 1e-7)).toBe(true);
    }
    expect(seen.size).toBe((2 * AUGMENT.SHIFT + 1) ** 2);
  });

  it('affine and elastic draws stay in range, change the image and keep its ink roughly', () => {
    for (const mode of ['affine', 'elastic'] as const) {
      const a = new Augmenter(mode, R, R);
      const ink = digit.reduce((s, v) => s + v / 255, 0);
      for (let s = 0; s < 20; s++) {
        const t = a.drawAffine(new Rng(s));
        expect(Math.abs(t.angle)).toBeLessThanOrEqual((AUGMENT.ROTATE_DEG * Math.PI) / 180);
        expect(Math.abs(t.scale - 1)).toBeLessThanOrEqual(AUGMENT.SCALE);
        const out = a.apply(digit, s, new Float32Array(R * R));
        const total = out.reduce((p, v) => p + v, 0);
        // a smooth field stretches some strokes and squeezes others: the ink may change, not vanish or double
        expect(total / ink).toBeGreaterThan(0.5);
        expect(total / ink).toBeLessThan(2);
        expect([...out]).not.toEqual([...digit].map((v) => v / 255));
      }
    }
  });

  it('the result depends on the seed alone: same seed, same image; another seed, another', () => {
    const a = new Augmenter('elastic', R, R);
    const b = new Augmenter('elastic', R, R);
    const x1 = [...a.apply(digit, 7, new Float32Array(R * R))];
    a.apply(digit, 8, new Float32Array(R * R));
    expect([...b.apply(digit, 7, new Float32Array(R * R))]).toEqual(x1);
    expect([...a.apply(digit, 8, new Float32Array(R * R))]).not.toEqual(x1);
    expect(sampleSeed(1, 0)).not.toBe(sampleSeed(1, 1));
    expect(epochKey([1, 2, 3, 4])).not.toBe(epochKey([1, 2, 3, 5]));
  });
});

describe('Batcher with augmentation', () => {
  function split(count: number): Split {
    const images = new Uint8Array(count * R * R);
    for (let i = 0; i < count; i++) for (let y = 8; y < 20; y++) images.fill(50 + i, i * R * R + y * R + 10, i * R * R + y * R + 18);
    return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, rows: R, cols: R };
  }
  const opts = { batchSize: 4, mean: 0.1307, std: 0.3081 };
  const epochs = (b: Batcher, rng: Rng, n: number, from = 0) => {
    const out: number[][] = [];
    for (let e = 0; e < n; e++) for (const { x } of b.epoch(rng, e === 0 ? from : 0)) out.push([...x.data]);
    return out;
  };

  it('augments training epochs reproducibly by seed, differently per epoch, never the in-order pass', () => {
    const s = split(10);
    const a = epochs(new Batcher(s, { ...opts, augment: 'affine' }), new Rng(3), 2);
    expect(epochs(new Batcher(s, { ...opts, augment: 'affine' }), new Rng(3), 2)).toEqual(a);
    expect(epochs(new Batcher(s, { ...opts, augment: 'affine' }), new Rng(4), 2)).not.toEqual(a);
    const plain = epochs(new Batcher(s, opts), new Rng(3), 2);
    expect(a).not.toEqual(plain);
    // the shuffle is the same with or without augmentation: labels follow the same order
    const labels = (b: Batcher) => [...b.epoch(new Rng(3))].flatMap(({ y }) => [...y]);
    expect(labels(new Batcher(s, { ...opts, augment: 'elastic' }))).toEqual(labels(new Batcher(s, opts)));
    // in order (no rng: evaluation) nothing is augmented
    const [first] = [...new Batcher(s, { ...opts, augment: 'elastic' }).epoch()];
    expect([...first.x.data]).toEqual([...[...new Batcher(s, opts).epoch()][0].x.data]);
  });

  it('a resumed epoch (from a batch, rng restored to the epoch start) replays the same augmented batches', () => {
    const s = split(10);
    const rng = new Rng(9);
    const b = new Batcher(s, { ...opts, augment: 'elastic' });
    const whole = epochs(b, rng, 1);
    const again = epochs(new Batcher(s, { ...opts, augment: 'elastic' }), new Rng(9), 1, 1);
    expect(again).toEqual(whole.slice(1));
    // and the next epoch continues from the same rng state
    const next = epochs(b, rng, 1);
    const r2 = new Rng(9);
    epochs(new Batcher(s, { ...opts, augment: 'elastic' }), r2, 1, 2);
    expect(epochs(new Batcher(s, { ...opts, augment: 'elastic' }), r2, 1)).toEqual(next);
  });
});
