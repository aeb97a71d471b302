// 2D convolution over NCHW input, like torch.nn.Conv2d: cross-correlation, zero padding,
// weight [outChannels, inChannels/groups, kH, kW]; kernels in engine/conv2d.ts.
import { ConfigError, ShapeError } from '../engine/errors.ts';
import { conv2dBackward, conv2dColSize, conv2dForward, convOutSize, type Conv2dGeometry } from '../engine/conv2d.ts';
import type { Rng } from '../engine/rng.ts';
import { Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import { fmtPair, fmtValue, intPair, type IntOrPair } from './args.ts';
import { defaultRng, uniformFanIn } from './init.ts';
import { Module, NO_INPUT_GRAD, param, type LayerSpec, type Parameter } from './module.ts';

export type Conv2dPadding = IntOrPair | 'same' | 'valid';

export interface Conv2dOptions {
  stride?: IntOrPair;
  /** An int or [h, w] pair of zeros added on both sides, or 'same' / 'valid' as in PyTorch. */
  padding?: Conv2dPadding;
  dilation?: IntOrPair;
  groups?: number;
  bias?: boolean;
  rng?: Rng;
}

export class Conv2d extends Module {
  readonly type = 'Conv2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: Parameter;
  readonly bias?: Parameter;
  // Zeros added on each side; differ only for 'same' with an even effective kernel (PyTorch
  // puts the odd one at the bottom / right).
  private readonly padTop: number;
  private readonly padBottom: number;
  private readonly padLeft: number;
  private readonly padRight: number;
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
    for (const [k, v] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(`Conv2d: ${k} must be a positive integer, got ${fmtValue(v)}`);
    }
    this.kernelSize = intPair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = intPair('Conv2d', 'stride', opts.stride ?? 1, 1);
    this.dilation = intPair('Conv2d', 'dilation', opts.dilation ?? 1, 1);
    const groups = (this.groups = opts.groups ?? 1);
    if (!Number.isInteger(groups) || groups < 1) throw new ConfigError(`Conv2d: groups must be a positive integer, got ${fmtValue(groups)}`);
    if (inChannels % groups !== 0) throw new ConfigError(`Conv2d: inChannels ${inChannels} must be divisible by groups ${groups}`);
    if (outChannels % groups !== 0) throw new ConfigError(`Conv2d: outChannels ${outChannels} must be divisible by groups ${groups}`);

    const padding = opts.padding ?? 0;
    const [kH, kW] = this.kernelSize, [dH, dW] = this.dilation;
    if (padding === 'same') {
      if (this.stride[0] !== 1 || this.stride[1] !== 1) {
        throw new ConfigError(
          `Conv2d: padding 'same' is not supported for strided convolutions, got stride [${this.stride.join(', ')}]`,
          'use stride 1, or give the padding as a number',
        );
      }
      const totalH = dH * (kH - 1), totalW = dW * (kW - 1);
      this.padTop = Math.floor(totalH / 2);
      this.padBottom = totalH - this.padTop;
      this.padLeft = Math.floor(totalW / 2);
      this.padRight = totalW - this.padLeft;
      this.padding = 'same';
    } else if (padding === 'valid') {
      this.padTop = this.padBottom = this.padLeft = this.padRight = 0;
      this.padding = 'valid';
    } else {
      if (typeof padding === 'string') {
        throw new ConfigError(`Conv2d: padding must be 'same', 'valid', a non-negative integer or an [h, w] pair, got ${fmtValue(padding)}`);
      }
      const p = intPair('Conv2d', 'padding', padding, 0);
      this.padTop = this.padBottom = p[0];
      this.padLeft = this.padRight = p[1];
      this.padding = p;
    }

    const rng = opts.rng ?? defaultRng();
    const fanIn = (inChannels / groups) * kH * kW;
    this.weight = param('weight', Tensor.zeros([outChannels, inChannels / groups, kH, kW]));
    uniformFanIn(this.weight.value, fanIn, rng);
    if (opts.bias ?? true) {
      this.bias = param('bias', Tensor.zeros([outChannels]));
      uniformFanIn(this.bias.value, fanIn, rng);
    }
  }

  override parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  outputShape(inShape: readonly number[]): number[] {
    if (inShape.length !== 4) {
      throw new ShapeError(
        `Conv2d: input must be rank 4 [N, C, H, W], but got rank ${inShape.length} ${fmtShape(inShape)}`,
        inShape.length === 3 ? 'add a batch dimension: reshape to [1, C, H, W]' : undefined,
      );
    }
    const [n, c, h, w] = inShape;
    if (c !== this.inChannels) {
      throw new ShapeError(`Conv2d: expected input with ${this.inChannels} channels, got ${c} in ${fmtShape(inShape)}`);
    }
    const [kH, kW] = this.kernelSize, [sH, sW] = this.stride, [dH, dW] = this.dilation;
    const paddedH = h + this.padTop + this.padBottom, paddedW = w + this.padLeft + this.padRight;
    if (dH * (kH - 1) + 1 > paddedH || dW * (kW - 1) + 1 > paddedW) {
      throw new ShapeError(
        `Conv2d: kernel ${fmtPair(this.kernelSize)} (dilation ${fmtPair(this.dilation, true)}) is larger than the ` +
          `padded input ${paddedH}x${paddedW} (input ${fmtShape(inShape)}, padding ${this.padDescription()})`,
      );
    }
    return [
      n,
      this.outChannels,
      convOutSize(h, kH, sH, this.padTop, this.padBottom, dH),
      convOutSize(w, kW, sW, this.padLeft, this.padRight, dW),
    ];
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

  private padDescription(): string {
    if (this.padding === 'same') return `'same' (${this.padTop}+${this.padBottom}x${this.padLeft}+${this.padRight})`;
    if (this.padding === 'valid') return `'valid'`;
    return fmtPair(this.padding, true);
  }

  spec(): LayerSpec {
    return {
      type: this.type,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: typeof this.padding === 'string' ? this.padding : [...this.padding],
      dilation: [...this.dilation],
      groups: this.groups,
      bias: !!this.bias,
    };
  }
}
