// 2D average pooling over NCHW input, like torch.nn.AvgPool2d (zero padding, counted in the
// divisor unless countIncludePad is false; stride defaults to kernelSize); kernels below.
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import type { IntOrPair } from './conv2d.ts';
import { checkSpec, type LayerDescriptor } from './layer.ts';
import { checkPoolPadding, pooledShape } from './max-pool2d.ts';
import { Module, type LayerSpec } from './module.ts';

type Pair = [number, number];

export interface AvgPool2dSpec extends LayerSpec {
  type: 'AvgPool2d';
  kernelSize: Pair;
  stride: Pair;
  padding: Pair;
  ceilMode: boolean;
  countIncludePad: boolean;
  /** Divides every window's sum by this instead of its size (PyTorch's divisor_override); null: none. */
  divisorOverride: number | null;
}

export interface AvgPool2dOptions {
  /** Defaults to kernelSize (PyTorch's stride=None). */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

const NO_DILATION: Pair = [1, 1];

export const avgPool2dLayer: LayerDescriptor<AvgPool2dSpec> = {
  type: 'AvgPool2d',
  arch: 'avgpool',
  positional: ['kernelSize'],
  input: 'image',
  fields: {
    kernelSize: { kind: 'pair', min: 1, limit: 'kernel', arch: 'kernel', repr: 'always' },
    stride: { kind: 'pair', min: 1, limit: 'stride', nullable: true, default: (s: LayerSpec) => s.kernelSize, defaultText: 'kernel', repr: 'always' },
    padding: { kind: 'pair', min: 0, limit: 'padding', default: 0 },
    ceilMode: { kind: 'bool', default: false, arch: 'ceil' },
    countIncludePad: { kind: 'bool', default: true, arch: 'count_include_pad' },
    divisorOverride: { kind: 'int', min: 1, limit: 'features', nullable: true, default: null, arch: 'divisor' },
  },
  check: checkPoolPadding,
  outputShape: (s, inShape) => pooledShape('AvgPool2d', s, NO_DILATION, inShape),
  params: () => [],
  create: (s) => new AvgPool2d(s.kernelSize, s),
};

/**
 * Per output row (or column) o: the window's first and last+1 input index inside the input, and
 * its extent inside the padded input (what countIncludePad divides by), as PyTorch computes them.
 */
function windows(out: number, size: number, k: number, s: number, p: number): Int32Array {
  const w = new Int32Array(3 * out);
  for (let o = 0; o < out; o++) {
    const start = o * s - p, end = Math.min(start + k, size + p);
    w[3 * o] = Math.max(start, 0);
    w[3 * o + 1] = Math.min(end, size);
    w[3 * o + 2] = end - start;
  }
  return w;
}

interface Geometry {
  n: number; c: number; h: number; w: number; outH: number; outW: number;
  rows: Int32Array; cols: Int32Array;
  /** 1 / divisor per output cell of a plane; 0 for a window with no input cell (output 0, as in PyTorch). */
  scale: Float64Array;
}

export class AvgPool2d extends Module {
  readonly type = 'AvgPool2d';
  private readonly s: AvgPool2dSpec;
  private geom?: Geometry;
  private out = new Workspace();
  private dx = new Workspace();

  constructor(kernelSize: IntOrPair, opts: AvgPool2dOptions = {}) {
    super();
    const { stride, padding, ceilMode, countIncludePad, divisorOverride } = opts;
    this.s = checkSpec(avgPool2dLayer, { kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride });
  }

  outputShape(inShape: readonly number[]): number[] {
    return avgPool2dLayer.outputShape(this.s, inShape);
  }

  private geometry(inShape: readonly number[]): Geometry {
    const g = this.geom;
    if (g && inShape.length === 4 && g.n === inShape[0] && g.c === inShape[1] && g.h === inShape[2] && g.w === inShape[3]) return g;
    const [n, c, outH, outW] = this.outputShape(inShape);
    const { kernelSize: [kH, kW], stride: [sH, sW], padding: [pH, pW], countIncludePad, divisorOverride } = this.s;
    const h = inShape[2], w = inShape[3];
    const rows = windows(outH, h, kH, sH, pH), cols = windows(outW, w, kW, sW, pW);
    const scale = new Float64Array(outH * outW);
    for (let oy = 0; oy < outH; oy++) {
      const inRows = rows[3 * oy + 1] - rows[3 * oy];
      for (let ox = 0; ox < outW; ox++) {
        const inCols = cols[3 * ox + 1] - cols[3 * ox];
        if (inRows <= 0 || inCols <= 0) continue;
        const divisor = divisorOverride ?? (countIncludePad ? rows[3 * oy + 2] * cols[3 * ox + 2] : inRows * inCols);
        scale[oy * outW + ox] = 1 / divisor;
      }
    }
    return (this.geom = { n, c, h, w, outH, outW, rows, cols, scale });
  }

  // x: [N, C, H, W] -> y: [N, C, outH, outW]; y = Σ window / divisor
  forward(x: Tensor): Tensor {
    const g = this.geometry(x.shape);
    const { h: H, w: W, outH, outW, rows, cols, scale } = g;
    const y = this.out.get([g.n, g.c, outH, outW]);
    const xd = x.data, yd = y.data;
    for (let pl = 0, q = 0; pl < g.n * g.c; pl++) {
      const base = pl * H * W;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = rows[3 * oy], y1 = rows[3 * oy + 1];
        for (let ox = 0; ox < outW; ox++, q++) {
          const x0 = cols[3 * ox], x1 = cols[3 * ox + 1];
          let sum = 0;
          for (let iy = y0; iy < y1; iy++) for (let i = base + iy * W + x0, e = base + iy * W + x1; i < e; i++) sum += xd[i];
          yd[q] = sum * scale[oy * outW + ox];
        }
      }
    }
    return y;
  }

  // dout: [N, C, outH, outW] -> dx: [N, C, H, W]; each input cell gets dout / divisor of every window holding it
  backward(dout: Tensor): Tensor {
    const g = this.geom;
    if (!g) throw new ShapeError('AvgPool2d: backward called before forward');
    const { h: H, w: W, outH, outW, rows, cols, scale } = g;
    const expected = [g.n, g.c, outH, outW];
    if (!sameShape(dout.shape, expected)) throw new ShapeError(`AvgPool2d: dout must be ${fmtShape(expected)}, but got ${fmtShape(dout.shape)}`);
    const dx = this.dx.get([g.n, g.c, H, W]);
    const dd = dx.data, gd = dout.data;
    dd.fill(0);
    for (let pl = 0, q = 0; pl < g.n * g.c; pl++) {
      const base = pl * H * W;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = rows[3 * oy], y1 = rows[3 * oy + 1];
        for (let ox = 0; ox < outW; ox++, q++) {
          const v = gd[q] * scale[oy * outW + ox];
          const x0 = cols[3 * ox], x1 = cols[3 * ox + 1];
          for (let iy = y0; iy < y1; iy++) for (let i = base + iy * W + x0, e = base + iy * W + x1; i < e; i++) dd[i] += v;
        }
      }
    }
    return dx;
  }

  spec(): AvgPool2dSpec {
    return structuredClone(this.s);
  }
}
