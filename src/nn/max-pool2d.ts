// 2D max pooling over NCHW input, like torch.nn.MaxPool2d (padding is -inf, stride defaults
// to kernelSize); kernels in engine/pool.ts.
import { ShapeError } from '../engine/errors.ts';
import { maxPool2dBackward, maxPool2dForward, pool2dGeometry, poolOutSize, type Pool2dGeometry } from '../engine/pool.ts';
import { Int32Views, Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import type { IntOrPair } from './conv2d.ts';
import { FitError, checkSpec, fmtPair, type LayerDescriptor } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

type Pair = [number, number];

export interface MaxPool2dSpec extends LayerSpec {
  type: 'MaxPool2d';
  kernelSize: Pair;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  ceilMode: boolean;
}

export interface MaxPool2dOptions {
  /** Defaults to kernelSize (PyTorch's stride=None). */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  dilation?: IntOrPair;
  ceilMode?: boolean;
}

/** Rank 4 input, and the pooled size of each side; shared with AvgPool2d (which has no dilation). */
export function pooledShape(
  type: string, s: { kernelSize: Pair; stride: Pair; padding: Pair; ceilMode: boolean }, dilation: Pair, inShape: readonly number[],
): number[] {
  if (inShape.length !== 4) {
    throw new ShapeError(
      `${type}: input must be rank 4 [N, C, H, W], but got rank ${inShape.length} ${fmtShape(inShape)}`,
      inShape.length === 3 ? 'add a batch dimension: reshape to [1, C, H, W]' : undefined,
    );
  }
  const [n, c, h, w] = inShape;
  const outH = poolOutSize(h, s.kernelSize[0], s.stride[0], s.padding[0], dilation[0], s.ceilMode);
  const outW = poolOutSize(w, s.kernelSize[1], s.stride[1], s.padding[1], dilation[1], s.ceilMode);
  if (outH < 1 || outW < 1) {
    throw new FitError(
      `${type}: kernel ${fmtPair(s.kernelSize)} (dilation ${fmtPair(dilation, true)}) is larger than the padded input ` +
        `${h + 2 * s.padding[0]}x${w + 2 * s.padding[1]} (input ${fmtShape(inShape)}, padding ${fmtPair(s.padding, true)})`,
      'kernelSize', 'use a smaller kernel, add padding, or pool less before this layer',
    );
  }
  return [n, c, outH, outW];
}

/** PyTorch checks the padding against half the kernel size itself (not the dilated extent). */
export function checkPoolPadding(s: { kernelSize: Pair; padding: Pair }, bad: (f: string, e: string, v: unknown) => never): void {
  const [kH, kW] = s.kernelSize;
  if (s.padding[0] > Math.floor(kH / 2) || s.padding[1] > Math.floor(kW / 2)) {
    bad('padding', `at most half the kernel size (${fmtPair(s.kernelSize)})`, s.padding);
  }
}

export const maxPool2dLayer: LayerDescriptor<MaxPool2dSpec> = {
  type: 'MaxPool2d',
  arch: 'maxpool',
  positional: ['kernelSize'],
  input: 'image',
  fields: {
    kernelSize: { kind: 'pair', min: 1, limit: 'kernel', arch: 'kernel', repr: 'always' },
    stride: { kind: 'pair', min: 1, limit: 'stride', nullable: true, default: (s: LayerSpec) => s.kernelSize, defaultText: 'kernel', repr: 'always' },
    padding: { kind: 'pair', min: 0, limit: 'padding', default: 0 },
    dilation: { kind: 'pair', min: 1, limit: 'dilation', default: 1 },
    ceilMode: { kind: 'bool', default: false, arch: 'ceil' },
  },
  check: checkPoolPadding,
  outputShape: (s, inShape) => pooledShape('MaxPool2d', s, s.dilation, inShape),
  params: () => [],
  create: (s) => new MaxPool2d(s.kernelSize, s),
};

export class MaxPool2d extends Module {
  readonly type = 'MaxPool2d';
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;
  private readonly s: MaxPool2dSpec;
  private geom?: Pool2dGeometry;
  // flat input index per output, written by forward: an int view of a workspace, so that with
  // the wasm backend it lives in the kernel memory too
  private argmax: Int32Array = new Int32Array(0);
  private argmaxBuf = new Workspace();
  private argmaxView = new Int32Views(1);
  private inShape?: readonly number[];
  private out = new Workspace();
  private dx = new Workspace();

  constructor(kernelSize: IntOrPair, opts: MaxPool2dOptions = {}) {
    super();
    const { stride, padding, dilation, ceilMode } = opts;
    const s = (this.s = checkSpec(maxPool2dLayer, { kernelSize, stride, padding, dilation, ceilMode }));
    this.kernelSize = s.kernelSize;
    this.stride = s.stride;
    this.padding = s.padding;
    this.dilation = s.dilation;
    this.ceilMode = s.ceilMode;
  }

  outputShape(inShape: readonly number[]): number[] {
    return maxPool2dLayer.outputShape(this.s, inShape);
  }

  private geometry(inShape: readonly number[]): Pool2dGeometry {
    const g = this.geom;
    if (g && inShape.length === 4 && g.n === inShape[0] && g.c === inShape[1] && g.h === inShape[2] && g.w === inShape[3]) return g;
    const [n, c, outH, outW] = this.outputShape(inShape);
    return (this.geom = pool2dGeometry({
      n, c, h: inShape[2], w: inShape[3],
      kH: this.kernelSize[0], kW: this.kernelSize[1],
      sH: this.stride[0], sW: this.stride[1],
      pH: this.padding[0], pW: this.padding[1],
      dH: this.dilation[0], dW: this.dilation[1],
      outH, outW,
    }));
  }

  // x: [N, C, H, W] -> y: [N, C, outH, outW]; records argmax
  forward(x: Tensor): Tensor {
    const g = this.geometry(x.shape);
    const y = this.out.get([g.n, g.c, g.outH, g.outW]);
    this.argmax = this.argmaxView.of(this.argmaxBuf.get(y.shape).data, 0);
    maxPool2dForward(g, x.data, y.data, this.argmax);
    this.inShape = x.shape;
    return y;
  }

  // dout: [N, C, outH, outW] -> dx: [N, C, H, W]; each dout goes to its window's argmax (+=)
  backward(dout: Tensor): Tensor {
    const g = this.geom;
    if (!g || !this.inShape) throw new ShapeError('MaxPool2d: backward called before forward');
    const expected = [g.n, g.c, g.outH, g.outW];
    if (!sameShape(dout.shape, expected)) {
      throw new ShapeError(`MaxPool2d: dout must be ${fmtShape(expected)}, but got ${fmtShape(dout.shape)}`);
    }
    const dx = this.dx.get(this.inShape);
    maxPool2dBackward(dout.data, this.argmax, dx.data);
    return dx;
  }

  spec(): MaxPool2dSpec {
    return structuredClone(this.s);
  }
}
