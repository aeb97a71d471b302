import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { Dropout } from '../../src/nn/dropout.ts';
import { manualSeed } from '../../src/nn/init.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { dot, expectClose, numericGrad, randomTensor } from './helpers.ts';

describe('Dropout', () => {
  it('in training zeroes about p of the values and scales the rest by exactly 1/(1-p)', () => {
    const d = new Dropout(0.25, { rng: new Rng(1) });
    const x = Tensor.from([100, 100], new Float32Array(10000).fill(2));
    const y = d.forward(x);
    let zeros = 0;
    const kept = Math.fround(2 * Math.fround(1 / 0.75));
    for (const v of y.data) {
      if (v === 0) zeros++;
      else expect(v).toBe(kept);
    }
    // binomial(10000, 0.25): sd ≈ 43
    expect(zeros).toBeGreaterThan(2500 - 200);
    expect(zeros).toBeLessThan(2500 + 200);
  });

  it('backward multiplies by the same mask: dx = dout · y / x', () => {
    const rng = new Rng(2);
    const d = new Dropout(0.5, { rng });
    const x = randomTensor([4, 8], rng, 1, 2); // non-zero so y / x recovers the mask
    const y = d.forward(x).clone();
    const g = randomTensor([4, 8], rng);
    const dx = d.backward(g);
    for (let i = 0; i < x.size; i++) expect(dx.data[i]).toBeCloseTo((g.data[i] * y.data[i]) / x.data[i], 5);
  });

  it('passes a central-difference check with the mask held fixed (same seed each forward)', () => {
    const rng = new Rng(3);
    const x = randomTensor([3, 5], rng), G = randomTensor([3, 5], rng);
    const d = new Dropout(0.3);
    const run = () => {
      d.rng = new Rng(99);
      return d.forward(x);
    };
    run();
    const dx = d.backward(G).data.slice();
    expectClose(dx, numericGrad(x.data, () => dot(run().data, G.data), 1e-2), { rtol: 1e-3, atol: 1e-4 }, 'Dropout dinput');
  });

  it('is the identity in eval mode, and with p = 0', () => {
    const x = randomTensor([2, 3], new Rng(4));
    const d = new Dropout(0.9, { rng: new Rng(5) }).eval();
    expect(d.forward(x).data).toEqual(x.data);
    const g = randomTensor([2, 3], new Rng(6));
    expect(d.backward(g).data).toEqual(g.data);
    const zero = new Dropout(0, { rng: new Rng(5) });
    expect(zero.forward(x).data).toEqual(x.data);
    d.train();
    expect(d.forward(x).data).not.toEqual(x.data);
  });

  it('gives zeros (and zero gradients) for p = 1, like PyTorch', () => {
    const d = new Dropout(1, { rng: new Rng(7) });
    const x = randomTensor([2, 3], new Rng(8));
    expect([...d.forward(x).data]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(d.backward(randomTensor([2, 3], new Rng(9))).data.every((v) => v === 0)).toBe(true);
  });

  it('draws masks from the rng option, else from the global RNG (manualSeed)', () => {
    const x = Tensor.from([1, 64], new Float32Array(64).fill(1));
    const a = new Dropout(0.5, { rng: new Rng(10) }).forward(x).data.slice();
    const b = new Dropout(0.5, { rng: new Rng(10) }).forward(x).data.slice();
    expect(a).toEqual(b);
    manualSeed(42);
    const c = new Dropout(0.5).forward(x).data.slice();
    manualSeed(42);
    const e = new Dropout(0.5).forward(x).data.slice();
    expect(c).toEqual(e);
    expect(c).not.toEqual(new Dropout(0.5).forward(x).data); // the global stream moved on
  });

  it('validates p in [0, 1] at construction', () => {
    for (const p of [-0.1, 1.5, NaN]) {
      expect(() => new Dropout(p)).toThrow(ConfigError);
      expect(() => new Dropout(p)).toThrow(`Dropout: p must be a probability between 0 and 1, got ${p}`);
    }
  });

  it('defaults to p = 0.5, round-trips its spec, and checks dout', () => {
    expect(new Dropout().p).toBe(0.5);
    expect(buildLayer({ type: 'Dropout', p: 0.2 }).spec()).toEqual({ type: 'Dropout', p: 0.2 });
    const d = new Dropout();
    expect(() => d.backward(Tensor.zeros([1, 2]))).toThrow('Dropout: backward called before forward');
    d.forward(Tensor.zeros([1, 2]));
    expect(() => d.backward(Tensor.zeros([2, 1]))).toThrow(ShapeError);
  });
});
