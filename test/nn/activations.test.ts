// LeakyReLU, Tanh and Sigmoid: hand-worked values, the PyTorch oracle
// (test/fixtures/{leakyrelu,tanh,sigmoid}_extra.json), gradient checks and bad shapes.
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { LeakyReLU } from '../../src/nn/leaky-relu.ts';
import { buildLayer } from '../../src/nn/models.ts';
import type { Module } from '../../src/nn/module.ts';
import { Sigmoid } from '../../src/nn/sigmoid.ts';
import { Tanh } from '../../src/nn/tanh.ts';
import { checkOracleCase, distinctTensor, gradCheck, loadFixture } from './helpers.ts';

const f32 = (v: number[]) => [...Float32Array.from(v)];

describe('LeakyReLU', () => {
  it('hand-worked: x above 0, slope·x elsewhere; the gradient at exactly 0 is the slope', () => {
    const l = new LeakyReLU(0.1);
    expect([...l.forward(Tensor.from([1, 4], [-2, 0, 0.5, 3])).data]).toEqual(f32([-0.2, 0, 0.5, 3]));
    expect([...l.backward(Tensor.from([1, 4], [1, 1, 1, 1])).data]).toEqual(f32([0.1, 0.1, 1, 1]));
    expect(new LeakyReLU().negativeSlope).toBe(0.01);
    expect(buildLayer({ type: 'LeakyReLU', negativeSlope: -0.5 }).spec()).toEqual({ type: 'LeakyReLU', negativeSlope: -0.5 });
  });

  const cases = loadFixture('leakyrelu_extra.json');
  it('fixture has its 4 cases', () => expect(cases).toHaveLength(4));
  for (const c of cases) it(`oracle ${c.name}`, () => checkOracleCase(new LeakyReLU(c.config.negative_slope as number), c));

  it('gradient check away from the kink', () => {
    const x = distinctTensor([2, 3, 4], new Rng(1));
    for (let i = 0; i < x.size; i++) x.data[i] += 0.05;
    gradCheck(new LeakyReLU(0.2), x, { tol: { rtol: 1e-4, atol: 1e-4 } });
  });

  it('rejects a slope that is not a finite number, backward before forward and a wrong dout', () => {
    expect(() => new LeakyReLU(NaN)).toThrow(ConfigError);
    expect(() => new LeakyReLU(Infinity)).toThrow('LeakyReLU: negativeSlope must be a finite number, got Infinity');
    const l = new LeakyReLU();
    expect(() => l.backward(Tensor.zeros([2]))).toThrow('LeakyReLU: backward called before forward');
    l.forward(Tensor.zeros([2, 2]));
    expect(() => l.backward(Tensor.zeros([3]))).toThrow(ShapeError);
  });
});

describe.each<[string, () => Module, string, (x: number) => number]>([
  ['Tanh', () => new Tanh(), 'tanh_extra.json', Math.tanh],
  ['Sigmoid', () => new Sigmoid(), 'sigmoid_extra.json', (x) => 1 / (1 + Math.exp(-x))],
])('%s', (type, make, fixture) => {
  it('hand-worked values and gradients', () => {
    const layer = make();
    const y = layer.forward(Tensor.from([1, 3], [0, 1, -1]));
    const dx = layer.backward(Tensor.from([1, 3], [1, 1, 1]));
    if (type === 'Tanh') {
      // tanh 1 = 0.761594…, 1 - tanh² 1 = 0.419974…
      expect([...y.data]).toEqual(f32([0, 0.7615941559557649, -0.7615941559557649]));
      expect(dx.data[0]).toBe(1);
      expect(dx.data[1]).toBeCloseTo(0.41997434161402614, 6);
    } else {
      // σ(0) = 1/2 with slope 1/4; σ(1) = 0.731059…, σ(-1) = 1 - σ(1)
      expect([...y.data]).toEqual(f32([0.5, 0.7310585786300049, 0.2689414213699951]));
      expect(dx.data[0]).toBe(0.25);
      expect(dx.data[1]).toBeCloseTo(0.19661193324148185, 6);
    }
    expect(layer.spec()).toEqual({ type });
    expect(buildLayer({ type }).type).toBe(type);
  });

  it('saturates without NaN at ±100', () => {
    const y = make().forward(Tensor.from([2], [100, -100]));
    // σ(-100) = 3.8e-44 survives as a float32 denormal, as in PyTorch
    expect([...y.data]).toEqual(type === 'Tanh' ? [1, -1] : [1, Math.fround(1 / (1 + Math.exp(100)))]);
  });

  const cases = loadFixture(fixture);
  it('fixture has its 2 cases', () => expect(cases).toHaveLength(2));
  for (const c of cases) it(`oracle ${c.name}`, () => checkOracleCase(make(), c));

  it('gradient check', () => {
    gradCheck(make(), distinctTensor([2, 3, 4], new Rng(2)), { eps: 1e-2, tol: { rtol: 1e-3, atol: 1e-3 } });
  });

  it('rejects backward before forward and a dout of the wrong size', () => {
    const layer = make();
    expect(() => layer.backward(Tensor.zeros([2]))).toThrow(`${type}: backward called before forward`);
    layer.forward(Tensor.zeros([2, 2]));
    expect(() => layer.backward(Tensor.zeros([3]))).toThrow(`${type}: dout must be [2, 2], but got [3]`);
  });
});
