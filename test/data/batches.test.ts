import { describe, expect, it } from 'vitest';
import { Batcher, subset } from '../../src/data/batches.ts';
import type { Split } from '../../src/data/sources.ts';
import { ConfigError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

// Image i has every pixel equal to i (mod 256) and label i % 10, so a batch row names its sample.
function split(count: number, rows = 28, cols = 28): Split {
  const px = rows * cols;
  const images = new Uint8Array(count * px);
  for (let i = 0; i < count; i++) images.fill(i % 256, i * px, (i + 1) * px);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, rows, cols };
}

const norm = { mean: 0.1307, std: 0.3081 };
const sampleOf = (x: Float32Array, j: number, px: number) => Math.round((x[j * px] * norm.std + norm.mean) * 255) + 0; // + 0 turns -0 into 0

describe('Batcher', () => {
  it('yields [B,1,28,28] float32 batches with Int32 labels; the last partial batch is kept', () => {
    const b = new Batcher(split(10), { batchSize: 4, ...norm });
    expect(b.count()).toBe(3);
    expect(b.size).toBe(10);
    const got = [...b.epoch()].map(({ x, y, index }) => ({ shape: [...x.shape], n: y.length, index, isInt: y instanceof Int32Array }));
    expect(got).toEqual([
      { shape: [4, 1, 28, 28], n: 4, index: 0, isInt: true },
      { shape: [4, 1, 28, 28], n: 4, index: 1, isInt: true },
      { shape: [2, 1, 28, 28], n: 2, index: 2, isInt: true },
    ]);
  });

  it('normalizes (x/255 - mean)/std and keeps labels aligned, in order without an rng', () => {
    const s = split(3, 2, 2);
    s.images.set([0, 255, 128, 1], 0); // sample 0 gets distinct pixels
    const [{ x, y }] = [...new Batcher(s, { batchSize: 3, ...norm }).epoch()];
    const f = (v: number) => (v / 255 - 0.1307) / 0.3081;
    expect(x.data[0]).toBeCloseTo(-0.424212917, 6); // torchvision's MNIST value for a black pixel
    expect([...x.data.subarray(0, 4)].map((v) => +v.toFixed(5))).toEqual([0, 255, 128, 1].map((v) => +f(v).toFixed(5)));
    expect(x.data[3 * 4 - 1]).toBeCloseTo(f(2), 6);
    expect([...y]).toEqual([0, 1, 2]);
  });

  it('reshuffles deterministically from the rng state, differently each epoch, each sample once', () => {
    const n = 103;
    const px = 4;
    // read each batch before the next one overwrites the buffer
    const order = (b: Batcher, rng?: Rng) => {
      const seen: number[] = [];
      for (const { x, y } of b.epoch(rng)) for (let j = 0; j < y.length; j++) seen.push(sampleOf(x.data, j, px));
      return seen;
    };
    const b = new Batcher(split(n, 2, 2), { batchSize: 10, ...norm });
    const rng = new Rng(42);
    const e1 = order(b, rng);
    const state = rng.getState();
    const e2 = order(b, rng);
    for (const e of [e1, e2]) expect([...e].sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(e1).not.toEqual(e2);
    expect(e1).not.toEqual(Array.from({ length: n }, (_, i) => i));
    // same seed => same epoch 1; a fresh Batcher restored to the saved state replays epoch 2
    expect(order(new Batcher(split(n, 2, 2), { batchSize: 10, ...norm }), new Rng(42))).toEqual(e1);
    const resumed = new Rng(0);
    resumed.setState(state);
    expect(order(new Batcher(split(n, 2, 2), { batchSize: 7, ...norm }), resumed)).toEqual(e2);
    // labels travel with their images
    for (const { x, y } of b.epoch(new Rng(1))) y.forEach((l, j) => expect(l).toBe(sampleOf(x.data, j, px) % 10));
  });

  it('reuses one buffer per batch size', () => {
    const b = new Batcher(split(10, 2, 2), { batchSize: 4, ...norm });
    const xs = [...b.epoch(), ...b.epoch(new Rng(3))].map((batch) => batch.x);
    expect(xs[0]).toBe(xs[1]);
    expect(xs[0]).toBe(xs[3]);
    expect(xs[2]).toBe(xs[5]);
    expect(xs[2]).not.toBe(xs[0]);
  });

  it('rejects a bad batch size or std', () => {
    expect(() => new Batcher(split(2), { batchSize: 0, ...norm })).toThrow(ConfigError);
    expect(() => new Batcher(split(2), { batchSize: 1.5, ...norm })).toThrow('Batcher: batchSize must be a positive integer, got 1.5');
    expect(() => new Batcher(split(2), { batchSize: 2, mean: 0, std: 0 })).toThrow('std must be positive');
  });
});

describe('subset', () => {
  it('takes the first N samples as views', () => {
    const s = split(10, 2, 2);
    const t = subset(s, 3);
    expect([t.count, t.images.length, t.labels.length, t.rows]).toEqual([3, 12, 3, 2]);
    expect([...t.labels]).toEqual([0, 1, 2]);
    expect(t.images.buffer).toBe(s.images.buffer);
    expect(subset(s)).toBe(s);
    expect(subset(s, 50)).toBe(s);
    expect(() => subset(s, 0)).toThrow(ConfigError);
  });
});

