// 2D convolution over NCHW input, like torch.nn.Conv2d: cross-correlation, zero padding,
// weight [outChannels, inChannels/groups, kH, kW]; kernels in engine/conv2d.ts.
import { ShapeError } from '../engine/errors.ts';
import { conv2dBackward, conv2dColSize, conv2dForward, convOutSize, type Conv2dGeometry } from '../engine/conv2d.ts';
import type { Rng } from '../engine/rng.ts';
import { Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import { initParam } from './init.ts';
import { FitError, checkSpec, fmtPair, type LayerDescriptor, type LayerSource } from './layer.ts';
import { Module, NO_INPUT_GRAD, type LayerSpec, type Parameter } from './module.ts';

export type IntOrPair = number | readonly [number, number] | readonly number[];
export type Conv2dPadding = IntOrPair | 'same' | 'valid';
type Pair = [number, number];

export interface Conv2dSpec extends LayerSpec {
  type: 'Conv2d';
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride: Pair;
  padding: Pair | 'same' | 'valid';
  dilation: Pair;
  groups: number;
  bias: boolean;
}

export interface Conv2dOptions {
  stride?: IntOrPair;
  /** An int or [h, w] pair of zeros added on both sides, or 'same' / 'valid' as in PyTorch. */
  padding?: Conv2dPadding;
  dilation?: IntOrPair;
  groups?: number;
  bias?: boolean;
  rng?: Rng;
  /** Stored parameters ("weight", "bias") to adopt instead of drawing fresh ones. */
  state?: Readonly<Record<string, Float32Array>>;
}

/**
 * Zeros added on each side [top, bottom, left, right]; they differ only for 'same' with an even
 * effective kernel (PyTorch puts the odd one at the bottom / right).
 */
function pads(s: Conv2dSpec): [number, number, number, number] {
  if (s.padding === 'valid') return [0, 0, 0, 0];
  if (s.padding === 'same') {
    const totalH = s.dilation[0] * (s.kernelSize[0] - 1), totalW = s.dilation[1] * (s.kernelSize[1] - 1);
    const top = Math.floor(totalH / 2), left = Math.floor(totalW / 2);
    return [top, totalH - top, left, totalW - left];
  }
  return [s.padding[0], s.padding[0], s.padding[1], s.padding[1]];
}

function padDescription(s: Conv2dSpec): string {
  const [t, b, l, r] = pads(s);
  if (s.padding === 'same') return `'same' (${t}+${b}x${l}+${r})`;
  if (s.padding === 'valid') return `'valid'`;
  return fmtPair(s.padding, true);
}

export const conv2dLayer: LayerDescriptor<Conv2dSpec> = {
  type: 'Conv2d',
  arch: 'conv',
  positional: ['outChannels', 'kernelSize'],
  input: 'image',
  fields: {
    inChannels: { kind: 'int', min: 1, limit: 'channels', infer: (sample) => sample[0], repr: 'positional' },
    outChannels: { kind: 'int', min: 1, limit: 'channels', arch: 'out', repr: 'positional' },
    kernelSize: { kind: 'pair', min: 1, limit: 'kernel', arch: 'kernel', repr: 'always' },
    stride: { kind: 'pair', min: 1, limit: 'stride', default: 1 },
    padding: { kind: 'pair', min: 0, limit: 'padding', names: ['same', 'valid'], default: 0 },
    dilation: { kind: 'pair', min: 1, limit: 'dilation', default: 1 },
    groups: { kind: 'int', min: 1, limit: 'channels', default: 1 },
    bias: { kind: 'bool', default: true },
  },
  check(s, bad) {
    if (s.inChannels % s.groups !== 0 || s.outChannels % s.groups !== 0) {
      bad('groups', `a divisor of inChannels ${s.inChannels} and outChannels ${s.outChannels}`, s.groups,
        `groups must divide both the input channels (${s.inChannels}) and the output channels (${s.outChannels}); groups=1 always does`);
    }
    if (s.padding === 'same' && (s.stride[0] !== 1 || s.stride[1] !== 1)) {
      bad('padding', `a number when the stride is ${fmtPair(s.stride, true)} ('same' needs stride 1, as in PyTorch)`, s.padding, 'use stride 1, or give the padding as a number');
    }
  },
  outputShape(s, inShape) {
    if (inShape.length !== 4) {
      throw new ShapeError(
        `Conv2d: input must be rank 4 [N, C, H, W], but got rank ${inShape.length} ${fmtShape(inShape)}`,
        inShape.length === 3 ? 'add a batch dimension: reshape to [1, C, H, W]' : undefined,
      );
    }
    const [n, c, h, w] = inShape;
    if (c !== s.inChannels) throw new ShapeError(`Conv2d: expected input with ${s.inChannels} channels, got ${c} in ${fmtShape(inShape)}`);
    const [kH, kW] = s.kernelSize, [sH, sW] = s.stride, [dH, dW] = s.dilation;
    const [pT, pB, pL, pR] = pads(s);
    const paddedH = h + pT + pB, paddedW = w + pL + pR;
    if (dH * (kH - 1) + 1 > paddedH || dW * (kW - 1) + 1 > paddedW) {
      throw new FitError(
        `Conv2d: kernel ${fmtPair(s.kernelSize)} (dilation ${fmtPair(s.dilation, true)}) is larger than the ` +
          `padded input ${paddedH}x${paddedW} (input ${fmtShape(inShape)}, padding ${padDescription(s)})`,
        'kernelSize', 'use a smaller kernel, add padding, or pool less before this layer',
      );
    }
    return [n, s.outChannels, convOutSize(h, kH, sH, pT, pB, dH), convOutSize(w, kW, sW, pL, pR, dW)];
  },
  params(s) {
    const weight: [string, number[]] = ['weight', [s.outChannels, s.inChannels / s.groups, s.kernelSize[0], s.kernelSize[1]]];
    return s.bias ? [weight, ['bias', [s.outChannels]]] : [weight];
  },
  create: (s, from) => new Conv2d(s.inChannels, s.outChannels, s.kernelSize, { ...s, ...from }),
};

export class Conv2d extends Module {
  readonly type = 'Conv2d';
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair | 'same' | 'valid';
  readonly dilation: Pair;
  readonly groups: number;
  readonly weight: Parameter;
  readonly bias?: Parameter;
  private readonly s: Conv2dSpec;
  private readonly padTop: number;
  private readonly padLeft: number;
  private geom?: Conv2dGeometry;
  private x?: Tensor; // forward input, read by backward
  private colsKept = false; // forward (training mode) left every im2col block in `col`
  private out = new Workspace();
  private dx = new Workspace();
  private col = new Workspace();
  private dcol = new Workspace();

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: IntOrPair,
    opts: Conv2dOptions = {},
  ) {
    super();
    const { stride, padding, dilation, groups, bias } = opts;
    const s = (this.s = checkSpec(conv2dLayer, { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias }));
    this.kernelSize = s.kernelSize;
    this.stride = s.stride;
    this.padding = s.padding;
    this.dilation = s.dilation;
    this.groups = s.groups;
    [this.padTop, , this.padLeft] = pads(s);
    const from: LayerSource = opts.state ? { state: opts.state } : { rng: opts.rng };
    const fanIn = (inChannels / s.groups) * s.kernelSize[0] * s.kernelSize[1];
    const shapes = conv2dLayer.params(s);
    this.weight = initParam('weight', shapes[0][1], fanIn, from);
    if (s.bias) this.bias = initParam('bias', shapes[1][1], fanIn, from);
  }

  override parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  outputShape(inShape: readonly number[]): number[] {
    return conv2dLayer.outputShape(this.s, inShape);
  }

  private geometry(inShape: readonly number[]): Conv2dGeometry {
    const g = this.geom;
    if (g && g.n === inShape[0] && g.cIn === inShape[1] && g.h === inShape[2] && g.w === inShape[3]) return g;
    const [n, , outH, outW] = this.outputShape(inShape);
    return (this.geom = {
      n, cIn: this.inChannels, h: inShape[2], w: inShape[3],
      cOut: this.outChannels, groups: this.groups,
      kH: this.kernelSize[0], kW: this.kernelSize[1],
      sH: this.stride[0], sW: this.stride[1],
      dH: this.dilation[0], dW: this.dilation[1],
      padTop: this.padTop, padLeft: this.padLeft,
      outH, outW,
    });
  }

  // x: [N, Cin, H, W] -> y: [N, Cout, outH, outW]
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) this.outputShape(x.shape); // throws; the cached geometry below only checks 4 dims
    const g = this.geometry(x.shape);
    const y = this.out.get([g.n, g.cOut, g.outH, g.outW]);
    // Training keeps every im2col block for backward; inference needs one block at a time.
    const keep = this.training;
    const col = this.col.get([conv2dColSize(g, keep)]);
    this.colsKept = conv2dForward(g, x.data, this.weight.value.data, this.bias ? this.bias.value.data : null, y.data, col.data, keep);
    this.x = x;
    return y;
  }

  // dout: [N, Cout, outH, outW] -> dx: [N, Cin, H, W]; dweight += Σ dout·colᵀ, dbias += Σ dout
  backward(dout: Tensor): Tensor {
    const x = this.x, g = this.geom;
    if (!x || !g) throw new ShapeError('Conv2d: backward called before forward');
    const expected = [g.n, g.cOut, g.outH, g.outW];
    if (!sameShape(dout.shape, expected)) {
      throw new ShapeError(`Conv2d: dout must be ${fmtShape(expected)}, but got ${fmtShape(dout.shape)}`);
    }
    const col = this.col.get([conv2dColSize(g, this.colsKept)]);
    const dcol = this.dcol.get([conv2dColSize(g, false)]);
    const dx = this.inputGrad ? this.dx.get(x.shape) : null;
    conv2dBackward(
      g, x.data, this.weight.value.data, dout.data,
      this.weight.grad.data, this.bias ? this.bias.grad.data : null, dx ? dx.data : null,
      col.data, this.colsKept, dcol.data,
    );
    return dx ?? NO_INPUT_GRAD;
  }

  spec(): Conv2dSpec {
    return structuredClone(this.s);
  }
}
