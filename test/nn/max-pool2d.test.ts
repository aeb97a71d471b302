import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import type { IntOrPair } from '../../src/nn/conv2d.ts';
import { MaxPool2d, type MaxPool2dOptions } from '../../src/nn/max-pool2d.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { checkOracleCase, distinctTensor, forEachCase, gradCheck, hasSharedOracle, loadFixture, loadSharedOracle } from './helpers.ts';

function fromConfig(cfg: Record<string, unknown>): MaxPool2d {
  return new MaxPool2d(cfg.kernel_size as IntOrPair, {
    stride: cfg.stride as IntOrPair | null,
    padding: cfg.padding as IntOrPair,
    dilation: cfg.dilation as IntOrPair | undefined,
    ceilMode: cfg.ceil_mode as boolean | undefined,
  });
}

describe('MaxPool2d hand-worked', () => {
  it('pools the notes example (after conv and ReLU) with kernel 2, stride 2, padding 1', () => {
    const x = Tensor.from([1, 1, 3, 3], [24, 18, 8, 26, 18, 8, 28, 18, 8]);
    const pool = new MaxPool2d(2, { stride: 2, padding: 1 });
    const y = pool.forward(x);
    // windows over the -inf padded 5x5: {24}, {18, 8}, {26, 28}, {18, 8, 18, 8}
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect([...y.data]).toEqual([24, 18, 28, 18]);
    const dx = pool.backward(Tensor.from([1, 1, 2, 2], [1, 2, 3, 4]));
    // the 18 at (1,1) ties with (2,1) in the last window: the first in row-major order wins
    expect([...dx.data]).toEqual([1, 2, 0, 0, 4, 0, 3, 0, 0]);
  });

  it('treats padding as -inf: all-negative windows return the negative maximum', () => {
    const x = Tensor.from([1, 1, 2, 2], [-5, -3, -4, -6]);
    const y = new MaxPool2d(2, { stride: 1, padding: 1 }).forward(x);
    expect([...y.data]).toEqual([-5, -3, -3, -4, -3, -3, -4, -4, -6]);
  });

  it('accumulates gradients (+=) where overlapping windows pick the same cell', () => {
    const x = Tensor.from([1, 1, 3, 3], [0, 0, 0, 0, 9, 0, 0, 0, 0]);
    const pool = new MaxPool2d(2, { stride: 1 });
    expect([...pool.forward(x).data]).toEqual([9, 9, 9, 9]);
    const dx = pool.backward(Tensor.from([1, 1, 2, 2], [1, 2, 3, 4]));
    expect([...dx.data]).toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  it('ceilMode adds a partial last window, but drops one that would start in the right padding', () => {
    const x = Tensor.from([1, 1, 5, 5], Array.from({ length: 25 }, (_, i) => i));
    // torch: max_pool2d(arange(25).view(1,1,5,5), 2, 2, ceil_mode=True) -> [[6,8,9],[16,18,19],[21,23,24]]
    expect([...new MaxPool2d(2, { ceilMode: true }).forward(x).data]).toEqual([6, 8, 9, 16, 18, 19, 21, 23, 24]);
    expect(new MaxPool2d(2).outputShape([1, 1, 5, 5])).toEqual([1, 1, 2, 2]);
    // padding 1: ceil((5 + 2 - 2) / 2) + 1 = 4, but window 4 would start at padded 6 >= 5 + 1, so 3
    expect(new MaxPool2d(2, { padding: 1, ceilMode: true }).outputShape([1, 1, 5, 5])).toEqual([1, 1, 3, 3]);
  });

  it('propagates NaN like PyTorch', () => {
    const pool = new MaxPool2d(2);
    const y = pool.forward(Tensor.from([1, 1, 2, 4], [1, NaN, 7, 2, NaN, 5, 3, 4]));
    expect(y.data[0]).toBeNaN();
    expect(y.data[1]).toBe(7);
    const dx = pool.backward(Tensor.from([1, 1, 1, 2], [1, 1]));
    // PyTorch keeps the last NaN of the window (index 4)
    expect([...dx.data]).toEqual([0, 0, 1, 0, 1, 0, 0, 0]);
  });
});

describe('MaxPool2d against the PyTorch oracle (test/fixtures, scripts/oracle/gen_extra.py)', () => {
  it('every case of maxpool2d.json (ties, all-negative windows with padding, constant input)', () => {
    const cases = loadFixture('maxpool2d.json');
    expect(cases.map((c) => c.values)).toEqual(expect.arrayContaining(['ties', 'negative', 'constant']));
    forEachCase(cases, (c) => checkOracleCase(fromConfig(c.config), c));
  });
  it('every case of maxpool2d_extra.json (ceilMode, dilation)', () => {
    forEachCase(loadFixture('maxpool2d_extra.json'), (c) => checkOracleCase(fromConfig(c.config), c));
  });
  it.skipIf(!hasSharedOracle('maxpool2d.json'))('shared oracle (optional, ../shared/oracle/maxpool2d.json): every case', () => {
    forEachCase(loadSharedOracle('maxpool2d.json'), (c) => checkOracleCase(fromConfig(c.config), c));
  });
});

describe('MaxPool2d gradient check (central differences on distinct values)', () => {
  const configs: [string, IntOrPair, MaxPool2dOptions, number[]][] = [
    ['kernel 2 (stride defaults to kernel)', 2, {}, [2, 2, 6, 6]],
    ['kernel 3, stride 1 (overlapping)', 3, { stride: 1 }, [1, 2, 5, 5]],
    ['kernel 2, stride 2, padding 1', 2, { stride: 2, padding: 1 }, [1, 1, 5, 5]],
    ['kernel [3, 2], stride [2, 1], padding [1, 0]', [3, 2], { stride: [2, 1], padding: [1, 0] }, [1, 2, 7, 5]],
    ['dilation 2, padding 1', 3, { stride: 1, dilation: 2, padding: 1 }, [1, 1, 7, 7]],
    ['ceilMode, kernel 3, stride 2', 3, { stride: 2, ceilMode: true }, [2, 1, 6, 8]],
    ['ceilMode with padding', 3, { stride: 2, padding: 1, ceilMode: true }, [1, 1, 6, 7]],
  ];
  for (const [name, k, opts, shape] of configs) {
    it(name, () => {
      const rng = new Rng(4);
      gradCheck(new MaxPool2d(k, opts), distinctTensor(shape, rng), { eps: 1e-2, tol: { rtol: 1e-4, atol: 1e-4 } });
    });
  }
});

describe('MaxPool2d configuration and shapes', () => {
  it('defaults stride to kernelSize and stores normalized pairs in spec()', () => {
    const p = new MaxPool2d(3);
    expect(p.spec()).toEqual({ type: 'MaxPool2d', kernelSize: [3, 3], stride: [3, 3], padding: [0, 0], dilation: [1, 1], ceilMode: false });
    expect(new MaxPool2d([2, 3], { stride: null }).stride).toEqual([2, 3]);
    const s = { type: 'MaxPool2d', kernelSize: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [2, 1], ceilMode: true };
    expect(buildLayer(s).spec()).toEqual(s);
    expect(buildLayer({ type: 'MaxPool2d', kernelSize: 2 }).spec()).toMatchObject({ stride: [2, 2], padding: [0, 0] });
    expect(p.parameters()).toEqual([]);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['padding over half the kernel', () => new MaxPool2d(2, { padding: 2 }), /MaxPool2d: padding must be at most half the kernel size \(2x2\), got 2/],
    ['padding over half in one dimension', () => new MaxPool2d([3, 2], { padding: [1, 2] }), /padding must be at most half the kernel size \(3x2\), got \[1, 2\]/],
    ['kernel 0', () => new MaxPool2d(0), /MaxPool2d: kernelSize must be a positive integer .* got 0/],
    ['stride 0', () => new MaxPool2d(2, { stride: 0 }), /MaxPool2d: stride .* got 0/],
    ['negative padding', () => new MaxPool2d(3, { padding: -1 }), /MaxPool2d: padding must be a non-negative integer .* got -1/],
    ['dilation 0', () => new MaxPool2d(2, { dilation: [1, 0] }), /MaxPool2d: dilation .* got \[1, 0\]/],
    ['non-integer kernel', () => new MaxPool2d(1.5), /MaxPool2d: kernelSize .* got 1.5/],
  ];
  for (const [name, make, msg] of bad) {
    it(`rejects ${name} with a ConfigError`, () => {
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(msg);
    });
  }

  it('rejects a kernel larger than the padded input, naming layer, kernel and input', () => {
    const p = new MaxPool2d(3);
    expect(() => p.forward(Tensor.zeros([1, 1, 2, 2]))).toThrow(ShapeError);
    expect(() => p.forward(Tensor.zeros([1, 1, 2, 2]))).toThrow(
      'MaxPool2d: kernel 3x3 (dilation 1) is larger than the padded input 2x2 (input [1, 1, 2, 2], padding 0)',
    );
  });

  it('rejects wrong rank, backward before forward and a dout of the wrong shape', () => {
    const p = new MaxPool2d(2);
    expect(() => p.backward(Tensor.zeros([1, 1, 2, 2]))).toThrow('MaxPool2d: backward called before forward');
    expect(() => p.forward(Tensor.zeros([4, 4]))).toThrow('MaxPool2d: input must be rank 4 [N, C, H, W], but got rank 2 [4, 4]');
    p.forward(Tensor.zeros([1, 1, 4, 4]));
    expect(() => p.forward(Tensor.zeros([1, 1, 4, 4, 1]))).toThrow(/rank 5/);
    p.forward(Tensor.zeros([1, 1, 4, 4]));
    expect(() => p.backward(Tensor.zeros([1, 1, 4, 4]))).toThrow('MaxPool2d: dout must be [1, 1, 2, 2], but got [1, 1, 4, 4]');
  });
});
