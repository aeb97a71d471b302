import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import type { IntOrPair } from '../../src/nn/conv2d.ts';
import { Conv2d, type Conv2dOptions, type Conv2dPadding } from '../../src/nn/conv2d.ts';
import { buildLayer } from '../../src/nn/models.ts';
import { checkOracleCase, forEachCase, gradCheck, hasSharedOracle, loadFixture, loadSharedOracle, randomTensor, type OracleCase } from './helpers.ts';

function fromConfig(cfg: Record<string, unknown>, rng = new Rng(1)): Conv2d {
  return new Conv2d(cfg.in_channels as number, cfg.out_channels as number, cfg.kernel_size as IntOrPair, {
    stride: cfg.stride as IntOrPair,
    padding: cfg.padding as Conv2dPadding,
    dilation: cfg.dilation as IntOrPair,
    groups: cfg.groups as number,
    bias: cfg.bias as boolean,
    rng,
  });
}

function conv(inC: number, outC: number, k: IntOrPair, opts: Conv2dOptions, weight: number[], bias?: number[]): Conv2d {
  const c = new Conv2d(inC, outC, k, { rng: new Rng(3), ...opts });
  c.weight.value.data.set(weight);
  if (bias) c.bias!.value.data.set(bias);
  return c;
}

describe('Conv2d hand-worked', () => {
  it('reproduces the notes example: 5x5 input, 3x3 kernel, no bias', () => {
    const x = Tensor.from([1, 1, 5, 5], [3, 3, 2, 1, 0, 2, 3, 2, 1, 0, 3, 3, 2, 1, 0, 4, 3, 2, 1, 0, 1, 3, 2, 1, 0]);
    const c = conv(1, 1, 3, { bias: false }, [0, 1, 2, 2, 2, 0, 0, 1, 2]);
    const y = c.forward(x);
    expect(y.shape).toEqual([1, 1, 3, 3]);
    // top-left: 3·0+3·1+2·2 + 2·2+3·2+2·0 + 3·0+3·1+2·2 = 7 + 10 + 7
    expect([...y.data]).toEqual([24, 18, 8, 26, 18, 8, 28, 18, 8]);
  });

  it('stride 2, padding 1, bias: forward and every gradient by hand', () => {
    const x = Tensor.from([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const c = conv(1, 1, 2, { stride: 2, padding: 1 }, [1, 1, 1, 1], [0.5]);
    const y = c.forward(x);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    // windows over the zero-padded 5x5: {1}, {2,3}, {4,7}, {5,6,8,9}
    expect([...y.data]).toEqual([1.5, 5.5, 11.5, 28.5]);
    c.zeroGrad();
    const dx = c.backward(Tensor.from([1, 1, 2, 2], [1, 1, 1, 1]));
    // tap (i, j) of output (oy, ox) reads x[2oy+i-1, 2ox+j-1]
    expect([...c.weight.grad.data]).toEqual([5, 10, 10, 20]);
    expect([...c.bias!.grad.data]).toEqual([4]);
    expect([...dx.data]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("'same' with an even kernel pads the extra row and column at the bottom / right, like PyTorch", () => {
    const x = Tensor.from([1, 1, 2, 2], [1, 2, 3, 4]);
    const topLeft = conv(1, 1, 2, { padding: 'same', bias: false }, [1, 0, 0, 0]);
    expect([...topLeft.forward(x).data]).toEqual([1, 2, 3, 4]);
    const bottomRight = conv(1, 1, 2, { padding: 'same', bias: false }, [0, 0, 0, 1]);
    expect([...bottomRight.forward(x).data]).toEqual([4, 0, 0, 0]);
  });

  it('groups: each output channel sees only its group of input channels', () => {
    // 2 -> 2 channels, groups 2, 1x1 kernels 10 and 100: channel o = w[o] · x[o]
    const x = Tensor.from([1, 2, 1, 2], [1, 2, 3, 4]);
    const c = conv(2, 2, 1, { groups: 2, bias: false }, [10, 100]);
    expect(c.weight.value.shape).toEqual([2, 1, 1, 1]);
    expect([...c.forward(x).data]).toEqual([10, 20, 300, 400]);
  });

  it('dilation 2 reads every other input cell', () => {
    const x = Tensor.from([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const c = conv(1, 1, 2, { dilation: 2, bias: false }, [1, 1, 1, 1]);
    const y = c.forward(x);
    expect(y.shape).toEqual([1, 1, 1, 1]);
    expect([...y.data]).toEqual([1 + 3 + 7 + 9]);
  });
});

describe('Conv2d against the PyTorch oracle (test/fixtures, scripts/oracle/gen_extra.py)', () => {
  it('every case of conv2d.json (kernel, stride, padding, dilation, groups, bias mixes)', () => {
    forEachCase(loadFixture('conv2d.json'), (c) => checkOracleCase(fromConfig(c.config), c));
  });
  it('every case of conv2d.json in eval mode (im2col rebuilt in backward)', () => {
    forEachCase(loadFixture('conv2d.json'), (c) => checkOracleCase(fromConfig(c.config).eval(), c));
  });
  it("every case of conv2d_extra.json ('same' with even kernels, pointwise, wide channels)", () => {
    forEachCase(loadFixture<OracleCase>('conv2d_extra.json'), (c) => checkOracleCase(fromConfig(c.config), c));
  });
  it.skipIf(!hasSharedOracle('conv2d.json'))('shared oracle (optional, ../shared/oracle/conv2d.json): every case', () => {
    forEachCase(loadSharedOracle('conv2d.json'), (c) => checkOracleCase(fromConfig(c.config), c));
  });
});

describe('Conv2d gradient check (central differences)', () => {
  const configs: [string, number, number, IntOrPair, Conv2dOptions, number[]][] = [
    ['plain 3x3', 2, 3, 3, {}, [2, 2, 5, 5]],
    ['stride 2', 2, 2, 3, { stride: 2 }, [1, 2, 7, 7]],
    ['stride [2, 1], padding [1, 2]', 1, 2, [3, 2], { stride: [2, 1], padding: [1, 2] }, [2, 1, 6, 5]],
    ['padding 2 (output larger than input)', 1, 2, 3, { padding: 2 }, [1, 1, 4, 4]],
    ["padding 'same', even kernel 2", 2, 2, 2, { padding: 'same' }, [1, 2, 5, 4]],
    ["padding 'same', kernel 4, dilation [1, 3]", 1, 2, 4, { padding: 'same', dilation: [1, 3] }, [1, 1, 5, 9]],
    ["padding 'valid'", 2, 1, 3, { padding: 'valid' }, [1, 2, 5, 6]],
    ['dilation 2, padding 2', 2, 2, 3, { dilation: 2, padding: 2 }, [1, 2, 6, 6]],
    ['dilation [2, 1]', 1, 2, 3, { dilation: [2, 1], padding: [2, 1] }, [1, 1, 7, 5]],
    ['groups 2', 4, 6, 3, { groups: 2, padding: 1 }, [1, 4, 4, 4]],
    ['groups 4 (depthwise), stride 2', 4, 4, 3, { groups: 4, stride: 2, padding: 1 }, [2, 4, 5, 5]],
    ['no bias', 2, 3, 3, { bias: false, padding: 1 }, [1, 2, 4, 4]],
    ['1x1 pointwise, groups 2', 4, 2, 1, { groups: 2 }, [2, 4, 3, 3]],
    ['1x1 stride 2, padding 1', 2, 2, 1, { stride: 2, padding: 1 }, [1, 2, 5, 5]],
  ];
  for (const [name, inC, outC, k, opts, shape] of configs) {
    it(name, () => {
      const rng = new Rng(11);
      const c = new Conv2d(inC, outC, k, { rng, ...opts });
      gradCheck(c, randomTensor(shape, rng));
    });
  }

  it('in eval mode too (im2col blocks rebuilt in backward)', () => {
    const rng = new Rng(12);
    const c = new Conv2d(2, 2, 3, { rng, stride: 2, padding: 1, groups: 2 }).eval();
    gradCheck(c, randomTensor([2, 2, 5, 5], rng));
  });
});

describe('Conv2d behaviour', () => {
  it('accumulates parameter gradients across backward calls until zeroGrad', () => {
    const rng = new Rng(5);
    const c = new Conv2d(2, 3, 3, { rng, padding: 1 });
    const x = randomTensor([2, 2, 4, 4], rng), g = randomTensor([2, 3, 4, 4], rng);
    c.forward(x);
    c.backward(g);
    const once = c.weight.grad.data.slice(), onceB = c.bias!.grad.data.slice();
    c.forward(x);
    c.backward(g);
    for (let i = 0; i < once.length; i++) expect(c.weight.grad.data[i]).toBeCloseTo(2 * once[i], 5);
    for (let i = 0; i < onceB.length; i++) expect(c.bias!.grad.data[i]).toBeCloseTo(2 * onceB[i], 5);
    c.zeroGrad();
    expect(c.weight.grad.data.every((v) => v === 0)).toBe(true);
  });

  it('reuses its output buffer across calls of the same shape (no allocation per batch)', () => {
    const rng = new Rng(6);
    const c = new Conv2d(1, 2, 3, { rng });
    const x = randomTensor([2, 1, 5, 5], rng);
    const y1 = c.forward(x);
    const d1 = c.backward(randomTensor(y1.shape, rng));
    const y2 = c.forward(x);
    const d2 = c.backward(randomTensor(y2.shape, rng));
    expect(y2).toBe(y1);
    expect(d2).toBe(d1);
  });

  it('initialises weight and bias from U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn = in/groups · kH · kW', () => {
    const c = new Conv2d(8, 16, [3, 5], { groups: 2, rng: new Rng(9) });
    const bound = 1 / Math.sqrt(4 * 3 * 5);
    expect(c.weight.value.shape).toEqual([16, 4, 3, 5]);
    expect(c.bias!.value.shape).toEqual([16]);
    for (const p of c.parameters()) {
      let max = 0;
      for (const v of p.value.data) max = Math.max(max, Math.abs(v));
      expect(max).toBeLessThanOrEqual(bound);
      expect(max).toBeGreaterThan(0.9 * bound); // the range is actually used
    }
    const again = new Conv2d(8, 16, [3, 5], { groups: 2, rng: new Rng(9) });
    expect([...again.weight.value.data]).toEqual([...c.weight.value.data]);
  });

  it('has PyTorch defaults and a spec of normalized pairs that rebuilds it through the registry', () => {
    const c = new Conv2d(3, 4, 3, { rng: new Rng(1) });
    expect(c.spec()).toEqual({
      type: 'Conv2d', inChannels: 3, outChannels: 4, kernelSize: [3, 3], stride: [1, 1], padding: [0, 0],
      dilation: [1, 1], groups: 1, bias: true,
    });
    expect(c.weight.value.shape).toEqual([4, 3, 3, 3]);
    expect(c.training).toBe(true);
  });

  it('round-trips specs through buildLayer', () => {
    for (const s of [
      { type: 'Conv2d', inChannels: 3, outChannels: 4, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
      { type: 'Conv2d', inChannels: 4, outChannels: 2, kernelSize: [2, 3], stride: [1, 1], padding: 'same', dilation: [2, 1], groups: 2, bias: false },
      { type: 'Conv2d', inChannels: 1, outChannels: 1, kernelSize: [5, 5], stride: [2, 3], padding: 'valid', dilation: [1, 1], groups: 1, bias: true },
    ]) {
      const layer = buildLayer(s, new Rng(2));
      expect(layer).toBeInstanceOf(Conv2d);
      expect(layer.spec()).toEqual(s);
    }
    // a spec from --arch may omit defaults
    const short = buildLayer({ type: 'Conv2d', inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 }, new Rng(2));
    expect(short.spec()).toMatchObject({ kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true });
  });
});

describe('Conv2d errors', () => {
  const bad: [string, () => unknown, RegExp][] = [
    ['groups not dividing inChannels', () => new Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: groups must be a divisor of inChannels 3 and outChannels 4, got 2/],
    ['groups not dividing outChannels', () => new Conv2d(4, 3, 3, { groups: 2 }), /Conv2d: groups must be a divisor of inChannels 4 and outChannels 3, got 2/],
    ['groups 0', () => new Conv2d(4, 4, 3, { groups: 0 }), /Conv2d: groups must be a positive integer, got 0/],
    ['stride 0', () => new Conv2d(1, 1, 3, { stride: 0 }), /Conv2d: stride must be a positive integer .* got 0/],
    ['negative stride in a pair', () => new Conv2d(1, 1, 3, { stride: [1, -2] }), /Conv2d: stride .* got \[1, -2\]/],
    ['non-integer kernel', () => new Conv2d(1, 1, 2.5), /Conv2d: kernelSize .* got 2.5/],
    ['kernel 0', () => new Conv2d(1, 1, 0), /Conv2d: kernelSize must be a positive integer .* got 0/],
    ['kernel triple', () => new Conv2d(1, 1, [3, 3, 3]), /Conv2d: kernelSize .* got \[3, 3, 3\]/],
    ['dilation 0', () => new Conv2d(1, 1, 3, { dilation: 0 }), /Conv2d: dilation .* got 0/],
    ['negative padding', () => new Conv2d(1, 1, 3, { padding: -1 }), /Conv2d: padding must be a non-negative integer .* got -1/],
    ['unknown padding string', () => new Conv2d(1, 1, 3, { padding: 'full' as Conv2dPadding }), /Conv2d: padding must be a non-negative integer or an \[h, w\] pair of them, 'same' or 'valid', got "full"/],
    ["'same' with stride 2", () => new Conv2d(1, 1, 3, { padding: 'same', stride: 2 }), /Conv2d: padding must be a number when the stride is 2 \('same' needs stride 1, as in PyTorch\), got "same"/],
    ['zero channels', () => new Conv2d(0, 1, 3), /Conv2d: inChannels must be a positive integer, got 0/],
    ['fractional channels', () => new Conv2d(1, 1.5, 3), /Conv2d: outChannels must be a positive integer, got 1.5/],
  ];
  for (const [name, make, msg] of bad) {
    it(`rejects ${name} at construction with a ConfigError`, () => {
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(msg);
    });
  }

  it('names the layer, input and kernel when the kernel is larger than the padded input', () => {
    const c = new Conv2d(1, 1, 5);
    expect(() => c.outputShape([1, 1, 3, 3])).toThrow(ShapeError);
    expect(() => c.forward(Tensor.zeros([1, 1, 3, 3]))).toThrow(
      'Conv2d: kernel 5x5 (dilation 1) is larger than the padded input 3x3 (input [1, 1, 3, 3], padding 0)',
    );
    const dil = new Conv2d(1, 1, 3, { dilation: 2, padding: 1 });
    expect(() => dil.forward(Tensor.zeros([1, 1, 2, 2]))).toThrow(/kernel 3x3 \(dilation 2\) is larger than the padded input 4x4/);
    // exactly fitting is fine: a 1x1 output
    expect(new Conv2d(1, 1, 5, { padding: 1 }).outputShape([2, 1, 3, 3])).toEqual([2, 1, 1, 1]);
  });

  it('rejects input with the wrong number of channels', () => {
    const c = new Conv2d(3, 2, 3);
    expect(() => c.forward(Tensor.zeros([2, 1, 5, 5]))).toThrow(ShapeError);
    expect(() => c.forward(Tensor.zeros([2, 1, 5, 5]))).toThrow('Conv2d: expected input with 3 channels, got 1 in [2, 1, 5, 5]');
    // also after a successful forward (cached geometry)
    c.forward(Tensor.zeros([2, 3, 5, 5]));
    expect(() => c.forward(Tensor.zeros([2, 1, 5, 5]))).toThrow('expected input with 3 channels');
  });

  it('rejects input of the wrong rank, with a hint for a missing batch dimension', () => {
    const c = new Conv2d(1, 1, 3);
    let err: unknown;
    try {
      c.forward(Tensor.zeros([1, 5, 5]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as ShapeError).message).toBe('Conv2d: input must be rank 4 [N, C, H, W], but got rank 3 [1, 5, 5]');
    expect((err as ShapeError).hint).toMatch(/batch dimension/);
    c.forward(Tensor.zeros([1, 1, 5, 5]));
    expect(() => c.forward(Tensor.zeros([1, 1, 5, 5, 1]))).toThrow(/rank 5/);
  });

  it('rejects backward before forward and a dout of the wrong shape', () => {
    const c = new Conv2d(1, 2, 3);
    expect(() => c.backward(Tensor.zeros([1, 2, 3, 3]))).toThrow('Conv2d: backward called before forward');
    c.forward(Tensor.zeros([1, 1, 5, 5]));
    expect(() => c.backward(Tensor.zeros([1, 2, 4, 4]))).toThrow('Conv2d: dout must be [1, 2, 3, 3], but got [1, 2, 4, 4]');
  });
});
