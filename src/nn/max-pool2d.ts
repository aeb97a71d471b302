// 2D max pooling over NCHW input, like torch.nn.MaxPool2d (padding is -inf, stride defaults
// to kernelSize); kernels in engine/pool.ts.
import { ConfigError, ShapeError } from '../engine/errors.ts';
import { maxPool2dBackward, maxPool2dForward, pool2dGeometry, poolOutSize, type Pool2dGeometry } from '../engine/pool.ts';
import { Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import { fmtPair, intPair, type IntOrPair } from './args.ts';
import { Module, type LayerSpec } from './module.ts';

export interface MaxPool2dOptions {
  /** Defaults to kernelSize (PyTorch's stride=None). */
  stride?: IntOrPair | null;
  padding?: IntOrPair;
  dilation?: IntOrPair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  readonly type = 'MaxPool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  private geom?: Pool2dGeometry;
  private argmax = new Int32Array(0); // flat input index per output, written by forward
  private inShape?: readonly number[];
  private out = new Workspace();
  private dx = new Workspace();

  constructor(kernelSize: IntOrPair, opts: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = intPair('MaxPool2d', 'kernelSize', kernelSize, 1);
    this.stride = opts.stride == null ? [...this.kernelSize] : intPair('MaxPool2d', 'stride', opts.stride, 1);
    this.padding = intPair('MaxPool2d', 'padding', opts.padding ?? 0, 0);
    this.dilation = intPair('MaxPool2d', 'dilation', opts.dilation ?? 1, 1);
    this.ceilMode = opts.ceilMode ?? false;
    if (typeof this.ceilMode !== 'boolean') throw new ConfigError(`MaxPool2d: ceilMode must be true or false, got ${String(opts.ceilMode)}`);
    const [kH, kW] = this.kernelSize, [pH, pW] = this.padding;
    // PyTorch checks the padding against half the kernel size itself (not the dilated extent).
    if (pH > Math.floor(kH / 2) || pW > Math.floor(kW / 2)) {
      throw new ConfigError(
        `MaxPool2d: pad should be at most half of effective kernel size, but got padding=${fmtPair(this.padding, true)} and kernelSize=${fmtPair(this.kernelSize, true)}`,
        `use padding <= ${Math.floor(Math.min(kH, kW) / 2)}`,
      );
    }
  }

  outputShape(inShape: readonly number[]): number[] {
    if (inShape.length !== 4) {
      throw new ShapeError(
        `MaxPool2d: input must be rank 4 [N, C, H, W], but got rank ${inShape.length} ${fmtShape(inShape)}`,
        inShape.length === 3 ? 'add a batch dimension: reshape to [1, C, H, W]' : undefined,
      );
    }
    const [n, c, h, w] = inShape;
    const outH = poolOutSize(h, this.kernelSize[0], this.stride[0], this.padding[0], this.dilation[0], this.ceilMode);
    const outW = poolOutSize(w, this.kernelSize[1], this.stride[1], this.padding[1], this.dilation[1], this.ceilMode);
    if (outH < 1 || outW < 1) {
      throw new ShapeError(
        `MaxPool2d: kernel ${fmtPair(this.kernelSize)} (dilation ${fmtPair(this.dilation, true)}) is larger than the padded input ` +
          `${h + 2 * this.padding[0]}x${w + 2 * this.padding[1]} (input ${fmtShape(inShape)}, padding ${fmtPair(this.padding, true)})`,
      );
    }
    return [n, c, outH, outW];
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
    if (this.argmax.length !== y.size) this.argmax = new Int32Array(y.size);
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

  spec(): LayerSpec {
    return {
      type: this.type,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
      ceilMode: this.ceilMode,
    };
  }
}
