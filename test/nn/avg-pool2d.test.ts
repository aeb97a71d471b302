// AvgPool2d: hand-worked windows (padding counted or not, ceil mode, divisor override), the
// PyTorch oracle (test/fixtures/avgpool2d_extra.json), a gradient check and bad shapes.
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { AvgPool2d } from '../../src/nn/avg-pool2d.ts';
import type { IntOrPair } from '../../src/nn/conv2d.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { checkOracleCase, gradCheck, loadFixture, randomTensor } from './helpers.ts';

describe('AvgPool2d hand-worked', () => {
  it('averages 2x2 windows and spreads the gradient evenly', () => {
    const x = Tensor.from([1, 1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    const pool = new AvgPool2d(2);
    const y = pool.forward(x);
    expect(y.shape).toEqual([1, 1, 1, 2]);
    expect([...y.data]).toEqual([(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4]);
    expect([...pool.backward(Tensor.from([1, 1, 1, 2], [4, 8])).data]).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });

  it('counts the zero padding in the divisor unless countIncludePad is false', () => {
    // 2x2 input of ones, kernel 2, stride 1, padding 1: the corner window holds one cell of four
    const x = Tensor.from([1, 1, 2, 2], [1, 1, 1, 1]);
    expect([...new AvgPool2d(2, { stride: 1, padding: 1 }).forward(x).data]).toEqual([0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25]);
    expect([...new AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }).forward(x).data]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('ceilMode adds a partial window whose divisor stops at the padded edge; divisorOverride replaces it', () => {
    // 3x3 of ones, kernel 2, stride 2, ceil: windows of 4, 2, 2 and 1 cells, none in padding
    const x = Tensor.from([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const pool = new AvgPool2d(2, { ceilMode: true });
    expect([...pool.forward(x).data]).toEqual([(1 + 2 + 4 + 5) / 4, (3 + 6) / 2, (7 + 8) / 2, 9]);
    expect([...new AvgPool2d(2, { ceilMode: true, divisorOverride: 3 }).forward(x).data]).toEqual([4, 3, 5, 3]);
    const dx = pool.backward(Tensor.from([1, 1, 2, 2], [4, 2, 2, 1]));
    expect([...dx.data]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('keeps its spec through the descriptor (stride defaults to the kernel)', () => {
    const p = new AvgPool2d([3, 2], { padding: 1 });
    expect(p.spec()).toEqual({ type: 'AvgPool2d', kernelSize: [3, 2], stride: [3, 2], padding: [1, 1], ceilMode: false, countIncludePad: true, divisorOverride: null });
    expect(buildLayer(p.spec()).spec()).toEqual(p.spec());
    expect(p.parameters()).toEqual([]);
  });
});

describe('AvgPool2d against PyTorch', () => {
  const cases = loadFixture('avgpool2d_extra.json');
  it('fixture has its 6 cases', () => expect(cases).toHaveLength(6));
  for (const c of cases) {
    it(`oracle ${c.name}`, () => {
      const cfg = c.config;
      const pool = new AvgPool2d(cfg.kernel_size as IntOrPair, {
        stride: cfg.stride as IntOrPair | null,
        padding: cfg.padding as IntOrPair,
        ceilMode: cfg.ceil_mode as boolean,
        countIncludePad: cfg.count_include_pad as boolean,
        divisorOverride: cfg.divisor_override as number | null,
      });
      checkOracleCase(pool, c);
    });
  }
});

describe('AvgPool2d gradients and errors', () => {
  it('gradient check with padding, ceil mode and overlapping windows', () => {
    const x = randomTensor([2, 2, 5, 6], new Rng(3));
    gradCheck(new AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true }), x, { tol: { rtol: 1e-3, atol: 1e-4 } });
    gradCheck(new AvgPool2d([2, 3], { stride: 1, countIncludePad: false }), x, { tol: { rtol: 1e-3, atol: 1e-4 } });
  });

  it('rejects bad configurations with a ConfigError naming the field', () => {
    expect(() => new AvgPool2d(2, { padding: 2 })).toThrow(ConfigError);
    expect(() => new AvgPool2d(2, { padding: 2 })).toThrow('AvgPool2d: padding must be at most half the kernel size (2x2), got 2');
    expect(() => new AvgPool2d(0)).toThrow(/AvgPool2d: kernelSize must be a positive integer .* got 0/);
    expect(() => new AvgPool2d(2, { divisorOverride: 0 })).toThrow('AvgPool2d: divisorOverride must be a positive integer, got 0');
  });

  it('rejects a wrong-rank input, a kernel past the padded input, and a wrong dout', () => {
    const p = new AvgPool2d(3);
    expect(() => p.forward(Tensor.zeros([4, 4]))).toThrow('AvgPool2d: input must be rank 4 [N, C, H, W], but got rank 2 [4, 4]');
    expect(() => p.forward(Tensor.zeros([1, 1, 2, 2]))).toThrow(ShapeError);
    expect(() => p.forward(Tensor.zeros([1, 1, 2, 2]))).toThrow(/AvgPool2d: kernel 3x3 .* is larger than the padded input 2x2/);
    expect(() => new AvgPool2d(2).backward(Tensor.zeros([1, 1, 1, 1]))).toThrow('AvgPool2d: backward called before forward');
    p.forward(Tensor.zeros([1, 1, 6, 6]));
    expect(() => p.backward(Tensor.zeros([1, 1, 3, 3]))).toThrow('AvgPool2d: dout must be [1, 1, 2, 2], but got [1, 1, 3, 3]');
  });
});
