// The arithmetic behind one output cell, worked out the way the notes do it by hand: a conv
// cell's input windows, kernels, products, sum and bias; a max-pool cell's window and winner;
// a Linear unit's largest contributions. Pure code over the engine's own layers (browser-safe).
import type { Tensor } from '../engine/tensor.ts';
import type { Conv2d } from '../nn/conv2d.ts';
import type { Linear } from '../nn/linear.ts';
import type { MaxPool2d } from '../nn/max-pool2d.ts';

export interface ConvChannelWork {
  /** Input channel index. */
  channel: number;
  /** The input window, kH×kW row-major; 0 where it lies in the zero padding. */
  window: Float64Array;
  /** True where the window lies in the padding. */
  padded: Uint8Array;
  kernel: Float64Array;
  products: Float64Array;
  /** Sum of this channel's products. */
  sum: number;
}

/** Which output cell, and where its kh×kw window lies in the input. */
export interface CellWindow {
  channel: number;
  row: number;
  col: number;
  kh: number;
  kw: number;
  /** Top-left input position of the window (may be negative: padding). */
  y0: number;
  x0: number;
}

export interface ConvWork extends CellWindow {
  kind: 'conv';
  channels: ConvChannelWork[];
  /** Sum of every product over every input channel (float64). */
  sum: number;
  bias: number;
  /** sum + bias. */
  result: number;
}

/** Zeros added above and left of the input ('same' puts an odd remainder at the bottom and right, as PyTorch). */
function convPadding(conv: Conv2d): [number, number] {
  const p = conv.padding;
  if (p === 'valid') return [0, 0];
  if (p === 'same') return [0, 1].map((i) => Math.floor((conv.dilation[i] * (conv.kernelSize[i] - 1)) / 2)) as [number, number];
  return p;
}

function checkCell(what: string, shape: readonly number[], c: number, y: number, x: number): void {
  const [, C, H, W] = shape;
  const ok = (v: number, n: number) => Number.isInteger(v) && v >= 0 && v < n;
  if (shape.length !== 4 || !ok(c, C) || !ok(y, H) || !ok(x, W)) {
    throw new RangeError(`${what}: no cell (channel ${c}, row ${y}, col ${x}) in an output of shape [${shape.join(', ')}]`);
  }
}

/**
 * Output cell (channel oc, row oy, col ox) of conv applied to x: [1, C, H, W], computed the long
 * way: for each input channel of its group, window × kernel element by element, then the sum.
 */
export function convCell(conv: Conv2d, x: Tensor, oc: number, oy: number, ox: number): ConvWork {
  checkCell('convCell', conv.outputShape(x.shape), oc, oy, ox);
  const [, C, H, W] = x.shape;
  const [kh, kw] = conv.kernelSize;
  const [sh, sw] = conv.stride;
  const [dh, dw] = conv.dilation;
  const [pt, pl] = convPadding(conv);
  const cinPerGroup = C / conv.groups;
  const coutPerGroup = conv.outChannels / conv.groups;
  const g = Math.floor(oc / coutPerGroup);
  // weight: [outChannels, inChannels/groups, kH, kW]
  const w = conv.weight.value.data;
  const y0 = oy * sh - pt, x0 = ox * sw - pl;
  const channels: ConvChannelWork[] = [];
  let total = 0;
  for (let j = 0; j < cinPerGroup; j++) {
    const c = g * cinPerGroup + j;
    const window = new Float64Array(kh * kw), kernel = new Float64Array(kh * kw), products = new Float64Array(kh * kw);
    const padded = new Uint8Array(kh * kw);
    let sum = 0;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const i = ky * kw + kx;
        const iy = y0 + ky * dh, ix = x0 + kx * dw;
        const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
        window[i] = inside ? x.data[(c * H + iy) * W + ix] : 0;
        padded[i] = inside ? 0 : 1;
        kernel[i] = w[((oc * cinPerGroup + j) * kh + ky) * kw + kx];
        products[i] = window[i] * kernel[i];
        sum += products[i];
      }
    }
    total += sum;
    channels.push({ channel: c, window, padded, kernel, products, sum });
  }
  const bias = conv.bias ? conv.bias.value.data[oc] : 0;
  return { kind: 'conv', channel: oc, row: oy, col: ox, kh, kw, y0, x0, channels, sum: total, bias, result: total + bias };
}

export interface PoolWork extends CellWindow {
  kind: 'pool';
  /** The window, kH×kW; -Infinity where it lies in the padding. */
  window: Float64Array;
  /** Index into window of the maximum (the first one, on ties). */
  winner: number;
  result: number;
}

/** Output cell (c, oy, ox) of a max-pool over x: [1, C, H, W]: its window and which cell won. */
export function poolCell(pool: MaxPool2d, x: Tensor, c: number, oy: number, ox: number): PoolWork {
  checkCell('poolCell', pool.outputShape(x.shape), c, oy, ox);
  const [, , H, W] = x.shape;
  const [kh, kw] = pool.kernelSize;
  const y0 = oy * pool.stride[0] - pool.padding[0], x0 = ox * pool.stride[1] - pool.padding[1];
  const window = new Float64Array(kh * kw).fill(-Infinity);
  let winner = -1;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const iy = y0 + ky * pool.dilation[0], ix = x0 + kx * pool.dilation[1];
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const i = ky * kw + kx;
      window[i] = x.data[(c * H + iy) * W + ix];
      if (winner < 0 || window[i] > window[winner]) winner = i;
    }
  }
  return { kind: 'pool', channel: c, row: oy, col: ox, kh, kw, y0, x0, window, winner, result: winner < 0 ? -Infinity : window[winner] };
}

export interface LinearWork {
  kind: 'linear';
  unit: number;
  inputs: number;
  /** The largest |weight × input| terms, largest first. */
  top: { index: number; input: number; weight: number; product: number }[];
  /** Sum of every term, the ones not shown included (float64). */
  sum: number;
  bias: number;
  result: number;
}

/** Unit `unit` of a Linear layer on input x: [1, inFeatures]: its largest contributions and the sum. */
export function linearUnit(lin: Linear, x: Tensor, unit: number, topK = 8): LinearWork {
  const n = lin.inFeatures;
  if (x.size !== n) throw new RangeError(`linearUnit: the input holds ${x.size} values, the layer takes ${n}`);
  if (!Number.isInteger(unit) || unit < 0 || unit >= lin.outFeatures) throw new RangeError(`linearUnit: no unit ${unit} in a layer of ${lin.outFeatures}`);
  // weight: [out, in]
  const w = lin.weight.value.data;
  const terms: LinearWork['top'] = [];
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const product = w[unit * n + j] * x.data[j];
    sum += product;
    terms.push({ index: j, input: x.data[j], weight: w[unit * n + j], product });
  }
  terms.sort((a, b) => Math.abs(b.product) - Math.abs(a.product) || a.index - b.index);
  const bias = lin.bias ? lin.bias.value.data[unit] : 0;
  return { kind: 'linear', unit, inputs: n, top: terms.slice(0, topK), sum, bias, result: sum + bias };
}
