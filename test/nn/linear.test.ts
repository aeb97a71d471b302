import { describe, expect, it } from 'vitest';
import { backend, setBackend } from '../../src/engine/backend.ts';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { Linear } from '../../src/nn/linear.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { checkOracleCase, gradCheck, loadFixture, loadOracle, randomTensor } from './helpers.ts';

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

  const cases = loadOracle('linear.json');
  it('oracle has the 3 documented cases', () => expect(cases).toHaveLength(3));
  for (const c of cases) {
    it(`oracle ${c.name}`, () => {
      const cfg = c.config;
      checkOracleCase(new Linear(cfg.in_features as number, cfg.out_features as number, { bias: cfg.bias as boolean, rng: new Rng(1) }), c);
    });
  }

  // mostly constant inputs take the sparse products (engine/sparse.ts) on the js backend; the
  // last case is dense (the wasm backend always runs its dense f32x4 GEMM)
  const extra = loadFixture('linear_extra.json');
  it('extra oracle has 3 cases', () => expect(extra).toHaveLength(3));
  extra.forEach((c, i) => {
    it(`oracle ${c.name}`, () => {
      const cfg = c.config;
      const l = new Linear(cfg.in_features as number, cfg.out_features as number, { bias: cfg.bias as boolean, rng: new Rng(1) });
      checkOracleCase(l, c);
      expect(l.tookSparsePath).toBe(i < 2 && backend() === 'js');
    });
  });

  it('the sparse products agree with the dense ones on a batch of MNIST-like rows', () => {
    const was = backend();
    setBackend('js'); // the sparse products are the js backend's
    const rng = new Rng(9);
    const x = Tensor.zeros([6, 100]);
    for (let q = 0; q < x.size; q++) x.data[q] = rng.next() < 0.25 ? rng.uniform(-1, 3) : -0.4242;
    const dout = randomTensor([6, 33], rng);
    const run = (sparse: boolean) => {
      const l = new Linear(100, 33, { rng: new Rng(2) });
      l.sparseInputs = sparse;
      const y = l.forward(x).clone();
      expect(l.tookSparsePath).toBe(sparse);
      l.weight.grad.data.fill(0.5); // gradients accumulate on top of what is there
      const dx = l.backward(dout).clone();
      return { y: [...y.data], dx: [...dx.data], dw: [...l.weight.grad.data], db: [...l.bias!.grad.data] };
    };
    const s = run(true), d = run(false);
    setBackend(was);
    for (const k of ['y', 'dx', 'dw', 'db'] as const) {
      s[k].forEach((v, q) => expect(Math.abs(v - d[k][q]), `${k}[${q}]`).toBeLessThan(1e-5 * (1 + Math.abs(d[k][q]))));
    }
  });

  it('gradient check on a mostly constant input (the sparse path)', () => {
    const rng = new Rng(5);
    const x = Tensor.zeros([3, 40]);
    for (let q = 0; q < x.size; q++) x.data[q] = q % 5 === 1 ? rng.uniform(-1, 1) : 0.25;
    const l = new Linear(40, 16, { rng });
    gradCheck(l, x);
    l.forward(x);
    expect(l.tookSparsePath).toBe(backend() === 'js');
  });

  for (const bias of [true, false]) {
    it(`gradient check (bias ${bias})`, () => {
      const rng = new Rng(3);
      gradCheck(new Linear(5, 4, { bias, rng }), randomTensor([3, 5], rng));
    });
  }

  it('initialises from U(-1/sqrt(in), 1/sqrt(in)) and round-trips its spec', () => {
    const l = new Linear(16, 8, { rng: new Rng(4) });
    for (const p of l.parameters()) for (const v of p.value.data) expect(Math.abs(v)).toBeLessThanOrEqual(0.25);
    expect(buildLayer(l.spec()).spec()).toEqual({ type: 'Linear', inFeatures: 16, outFeatures: 8, bias: true });
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
