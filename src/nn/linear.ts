// Fully connected layer y = x · Wᵀ + b, like torch.nn.Linear (weight [out, in]).
import { ConfigError, ShapeError } from '../engine/errors.ts';
import { gemmNN, gemmNT, gemmTN } from '../engine/gemm.ts';
import type { Rng } from '../engine/rng.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { defaultRng, uniformFanIn } from './init.ts';
import { Module, NO_INPUT_GRAD, param, type LayerSpec, type Parameter } from './module.ts';

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
}

export class Linear extends Module {
  readonly type = 'Linear';
  readonly weight: Parameter;
  readonly bias?: Parameter;
  private x?: Tensor; // forward input, read by backward
  private out = new Workspace();
  private dx = new Workspace();

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ConfigError(`Linear: ${k} must be a positive integer, got ${v}`);
    }
    const rng = opts.rng ?? defaultRng();
    this.weight = param('weight', Tensor.zeros([outFeatures, inFeatures]));
    uniformFanIn(this.weight.value, inFeatures, rng);
    if (opts.bias ?? true) {
      this.bias = param('bias', Tensor.zeros([outFeatures]));
      uniformFanIn(this.bias.value, inFeatures, rng);
    }
  }

  override parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  outputShape(inShape: readonly number[]): number[] {
    if (inShape.length < 2 || inShape[inShape.length - 1] !== this.inFeatures) {
      throw new ShapeError(
        `Linear: input must be [N, ${this.inFeatures}], but got ${fmtShape(inShape)}`,
        inShape.length > 2 ? 'add a flatten before the linear layer' : undefined,
      );
    }
    return [...inShape.slice(0, -1), this.outFeatures];
  }

  // x: [N, in] -> y: [N, out]
  forward(x: Tensor): Tensor {
    const shape = this.outputShape(x.shape);
    const n = x.size / this.inFeatures;
    const y = this.out.get(shape);
    gemmNT(n, this.outFeatures, this.inFeatures, x.data, this.weight.value.data, y.data);
    if (this.bias) {
      const b = this.bias.value.data, yd = y.data, o = this.outFeatures;
      for (let i = 0; i < n; i++) for (let j = 0, q = i * o; j < o; j++, q++) yd[q] += b[j];
    }
    this.x = x;
    return y;
  }

  // dout: [N, out] -> dx: [N, in]; dW += doutᵀ·x, db += Σ_n dout
  backward(dout: Tensor): Tensor {
    const x = this.x;
    if (!x) throw new ShapeError('Linear: backward called before forward');
    const n = x.size / this.inFeatures, o = this.outFeatures, i = this.inFeatures;
    if (dout.size !== n * o) throw new ShapeError(`Linear: dout must be [${n}, ${o}], but got ${fmtShape(dout.shape)}`);
    gemmTN(o, i, n, dout.data, x.data, this.weight.grad.data, true);
    if (this.bias) {
      const db = this.bias.grad.data, d = dout.data;
      for (let r = 0; r < n; r++) for (let j = 0, q = r * o; j < o; j++, q++) db[j] += d[q];
    }
    if (!this.inputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(x.shape);
    gemmNN(n, i, o, dout.data, this.weight.value.data, dx.data);
    return dx;
  }

  spec(): LayerSpec {
    return { type: this.type, inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: !!this.bias };
  }
}
