import { describe, expect, it } from 'vitest';
import { backend, setBackend } from '../../src/engine/backend.ts';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor, kernelFloats } from '../../src/engine/tensor.ts';
import { Linear } from '../../src/nn/linear.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { checkOracleCase, forEachCase, gradCheck, hasSharedOracle, loadFixture, loadSharedOracle, randomTensor, type OracleCase } from './helpers.ts';

describe('Linear', () => {
  it('hand-worked: y = x·Wᵀ + b, dW = doutᵀ·x, db = Σ dout, dx = dout·W', () => {
    const l = new Linear(2, 2, { rng: new Rng(1) });
    l.weight.value.data.set([1, 2, 3, 4]); // [[1, 2], [3, 4]]
    l.bias!.value.data.set([10, 20]);
    const y = l.forward(Tensor.from([2, 2], [1, 1, 0, 2]));
    expect([...y.data]).toEqual([13, 27, 14, 28]);
    const dx = l.backward(Tensor.from([2, 2], [1, 0, 0, 1]));
    expect([...l.weight.grad.data]).toEqual([1, 1, 0, 2]);
    expect([...l.bias!.grad.data]).toEqual([1, 1]);
    expect([...dx.data]).toEqual([1, 2, 3, 4]);
  });

  const fromConfig = (c: OracleCase) =>
    new Linear(c.config.in_features as number, c.config.out_features as number, { bias: c.config.bias as boolean, rng: new Rng(1) });

  it('oracle: every case of test/fixtures/linear.json (with and without bias)', () => {
    forEachCase(loadFixture('linear.json'), (c) => checkOracleCase(fromConfig(c), c));
  });

  it('oracle: every case of test/fixtures/linear_extra.json (mostly constant inputs take the sparse products)', () => {
    forEachCase(loadFixture('linear_extra.json'), (c) => {
      const l = fromConfig(c);
      checkOracleCase(l, c);
      // the sparse products take the mostly constant inputs; the wasm ones want 16k outputs and 4k inputs
      const fits = backend() === 'js' || (l.outFeatures % 16 === 0 && l.inFeatures % 4 === 0);
      expect(l.tookSparsePath, `${c.name} sparse path`).toBe(!c.name.includes('dense') && fits);
    });
  });

  it.skipIf(!hasSharedOracle('linear.json'))('shared oracle (optional, ../shared/oracle/linear.json): every case', () => {
    forEachCase(loadSharedOracle('linear.json'), (c) => checkOracleCase(fromConfig(c), c));
  });

  for (const kernels of ['js', 'wasm'] as const) {
    it(`the sparse products agree with the dense ones on a batch of MNIST-like rows (${kernels} kernels)`, () => {
      const was = backend();
      setBackend(kernels);
      try {
        const rng = new Rng(9);
        const x = Tensor.zeros([6, 100]);
        for (let q = 0; q < x.size; q++) x.data[q] = rng.next() < 0.25 ? rng.uniform(-1, 3) : -0.4242;
        // where the next layer's gradient lives in training: the kernel memory (wasm)
        const dout = new Tensor([6, 48], kernelFloats(6 * 48));
        dout.data.set(randomTensor([6, 48], rng).data);
        const run = (sparse: boolean) => {
          const l = new Linear(100, 48, { rng: new Rng(2) });
          l.sparseInputs = sparse;
          const y = l.forward(x).clone();
          expect(l.tookSparsePath).toBe(sparse);
          l.weight.grad.data.fill(0.5); // gradients accumulate on top of what is there
          l.bias!.grad.data.fill(0.5);
          const dx = l.backward(dout).clone();
          return { y: [...y.data], dx: [...dx.data], dw: [...l.weight.grad.data], db: [...l.bias!.grad.data] };
        };
        const s = run(true), d = run(false);
        for (const k of ['y', 'dx', 'dw', 'db'] as const) {
          s[k].forEach((v, q) => expect(Math.abs(v - d[k][q]), `${k}[${q}]`).toBeLessThan(1e-5 * (1 + Math.abs(d[k][q]))));
        }
      } finally {
        setBackend(was);
      }
    });
  }

  it('gradient check on a mostly constant input (the sparse path)', () => {
    const rng = new Rng(5);
    const x = Tensor.zeros([3, 40]);
    for (let q = 0; q < x.size; q++) x.data[q] = q % 5 === 1 ? rng.uniform(-1, 1) : 0.25;
    const l = new Linear(40, 16, { rng });
    gradCheck(l, x);
    l.forward(x);
    expect(l.tookSparsePath).toBe(true);
  });

  for (const bias of [true, false]) {
    it(`gradient check (bias ${bias})`, () => {
      const rng = new Rng(3);
      gradCheck(new Linear(5, 4, { bias, rng }), randomTensor([3, 5], rng));
    });
  }

  it('initialises from U(-1/sqrt(in), 1/sqrt(in)) and round-trips its spec', () => {
    // 64 outputs, so that the bias too has enough values to show its range
    const l = new Linear(16, 64, { rng: new Rng(4) });
    const bound = 1 / Math.sqrt(16);
    for (const p of l.parameters()) {
      const v = [...p.value.data];
      for (const x of v) expect(Math.abs(x), p.name).toBeLessThanOrEqual(bound);
      // the whole range is used, on both sides (all zeros, a constant or a narrower range fail)
      expect(Math.max(...v), `${p.name} max`).toBeGreaterThan(0.75 * bound);
      expect(Math.min(...v), `${p.name} min`).toBeLessThan(-0.75 * bound);
      expect(new Set(v).size, `${p.name} distinct values`).toBe(v.length);
    }
    // the weight is uniform: about a quarter of its 1024 values in each quarter of the range
    const quarters = [0, 0, 0, 0];
    for (const x of l.weight.value.data) quarters[Math.min(3, Math.floor(((x + bound) / (2 * bound)) * 4))]++;
    for (const q of quarters) expect(q).toBeGreaterThan(200);
    // seeded: the same rng gives the same weights, another rng other weights
    expect([...new Linear(16, 64, { rng: new Rng(4) }).weight.value.data]).toEqual([...l.weight.value.data]);
    expect([...new Linear(16, 64, { rng: new Rng(5) }).weight.value.data]).not.toEqual([...l.weight.value.data]);
    expect(buildLayer(l.spec()).spec()).toEqual({ type: 'Linear', inFeatures: 16, outFeatures: 64, bias: true });
  });

  it('rejects bad sizes and wrong input shapes', () => {
    expect(() => new Linear(0, 3)).toThrow(ConfigError);
    const l = new Linear(4, 2);
    expect(() => l.forward(Tensor.zeros([2, 3]))).toThrow(ShapeError);
    expect(() => l.forward(Tensor.zeros([2, 3]))).toThrow('Linear: input must be [N, 4], but got [2, 3]');
    expect(() => l.backward(Tensor.zeros([2, 2]))).toThrow('Linear: backward called before forward');
    l.forward(Tensor.zeros([2, 4]));
    expect(() => l.backward(Tensor.zeros([3, 2]))).toThrow(/dout must be \[2, 2\]/);
  });
});
