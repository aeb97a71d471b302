// Batch normalisation, like torch.nn.BatchNorm2d ([N, C, H, W], statistics per channel over N, H,
// W) and torch.nn.BatchNorm1d ([N, C]): batch statistics in train(), running ones in eval().
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { FitError, checkSpec, type FieldDef, type LayerDescriptor, type LayerSource } from './layer.ts';
import { Module, NO_INPUT_GRAD, param, type Buffer, type LayerSpec, type Parameter } from './module.ts';

export interface BatchNormSpec extends LayerSpec {
  type: 'BatchNorm2d' | 'BatchNorm1d';
  numFeatures: number;
  eps: number;
  momentum: number;
  affine: boolean;
  trackRunningStats: boolean;
}

/**
 * Sums a Float64Array element-wise across the threads that share a batch, in place, in a fixed
 * thread order (so every thread gets the same bits): SyncBatchNorm's reduction. Absent when one
 * thread holds the whole batch.
 */
export interface AllReduce {
  sum(buf: Float64Array, n: number): void;
}

function fields(rank: 'image' | 'features'): Record<string, FieldDef> {
  return {
    numFeatures: { kind: 'int', min: 1, limit: rank === 'image' ? 'channels' : 'features', infer: (sample) => sample[0], repr: 'positional' },
    eps: { kind: 'number', min: 0, max: 1, default: 1e-5 },
    momentum: { kind: 'number', min: 0, max: 1, default: 0.1, what: 'a number between 0 and 1' },
    affine: { kind: 'bool', default: true },
    trackRunningStats: { kind: 'bool', default: true, arch: 'track' },
  };
}

function descriptor(type: 'BatchNorm2d' | 'BatchNorm1d'): LayerDescriptor<BatchNormSpec> {
  const image = type === 'BatchNorm2d';
  return {
    type,
    arch: image ? 'batchnorm' : 'batchnorm1d',
    positional: [],
    input: image ? 'image' : 'features',
    fields: fields(image ? 'image' : 'features'),
    outputShape(s, inShape) {
      const ok = image ? inShape.length === 4 : inShape.length === 2;
      if (!ok || inShape[1] !== s.numFeatures) {
        const want = image ? `[N, ${s.numFeatures}, H, W]` : `[N, ${s.numFeatures}]`;
        throw new FitError(`${type}: input must be ${want}, but got ${fmtShape(inShape)}`, undefined,
          image && inShape.length === 2 ? 'use batchnorm1d after a flatten or linear layer' : !image && inShape.length === 4 ? 'use batchnorm (2d) before the flatten' : undefined);
      }
      return [...inShape];
    },
    params: (s) => (s.affine ? [['weight', [s.numFeatures]], ['bias', [s.numFeatures]]] : []),
    buffers: (s) => (s.trackRunningStats ? [['running_mean', [s.numFeatures]], ['running_var', [s.numFeatures]], ['num_batches_tracked', []]] : []),
    create: (s, from) => new BatchNorm(s, from),
  };
}

export const batchNorm2dLayer = descriptor('BatchNorm2d');
export const batchNorm1dLayer = descriptor('BatchNorm1d');

export type BatchNormOptions = Partial<Omit<BatchNormSpec, 'type' | 'numFeatures'>>;

export class BatchNorm extends Module {
  readonly type: 'BatchNorm2d' | 'BatchNorm1d';
  readonly weight?: Parameter;
  readonly bias?: Parameter;
  readonly runningMean?: Tensor;
  readonly runningVar?: Tensor;
  /** A count kept as float32, like the other tensors of the weights file (exact to 2^24 batches). */
  readonly numBatchesTracked?: Tensor;
  /** Whole-batch statistics across threads; set by the multi-thread stepper. */
  collective?: AllReduce;
  /** False on a worker's replica: the main thread alone updates the (shared) running statistics. */
  updatesRunningStats = true;
  private readonly s: BatchNormSpec;
  private x?: Tensor; // forward input, read by backward
  private usedBatchStats = false;
  private mean: Float64Array;
  private invstd: Float64Array;
  private sums: Float64Array;
  private out = new Workspace();
  private dx = new Workspace();

  constructor(spec: Pick<BatchNormSpec, 'type' | 'numFeatures'> & BatchNormOptions, from: LayerSource = {}) {
    super();
    const d = spec.type === 'BatchNorm1d' ? batchNorm1dLayer : batchNorm2dLayer;
    this.s = checkSpec(d, spec);
    this.type = this.s.type;
    const c = this.s.numFeatures;
    const stored = (name: string, shape: number[], init: number): Tensor => {
      if (!from.state) {
        const t = Tensor.zeros(shape);
        t.data.fill(init);
        return t;
      }
      const data = Object.hasOwn(from.state, name) ? from.state[name] : undefined;
      const n = shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== n) throw new ShapeError(`${name}: expected a stored tensor ${fmtShape(shape)}, got ${data ? `${data.length} values` : 'none'}`);
      return new Tensor(shape, data);
    };
    // PyTorch's reset_parameters: weight 1, bias 0, running mean 0, running var 1
    if (this.s.affine) {
      this.weight = param('weight', stored('weight', [c], 1));
      this.bias = param('bias', stored('bias', [c], 0));
    }
    if (this.s.trackRunningStats) {
      this.runningMean = stored('running_mean', [c], 0);
      this.runningVar = stored('running_var', [c], 1);
      this.numBatchesTracked = stored('num_batches_tracked', [], 0);
    }
    this.mean = new Float64Array(c);
    this.invstd = new Float64Array(c);
    this.sums = new Float64Array(2 * c + 1);
  }

  get numFeatures(): number {
    return this.s.numFeatures;
  }

  override parameters(): Parameter[] {
    return this.weight && this.bias ? [this.weight, this.bias] : [];
  }

  override buffers(): Buffer[] {
    if (!this.runningMean || !this.runningVar || !this.numBatchesTracked) return [];
    return [
      { name: 'running_mean', value: this.runningMean },
      { name: 'running_var', value: this.runningVar },
      { name: 'num_batches_tracked', value: this.numBatchesTracked },
    ];
  }

  outputShape(inShape: readonly number[]): number[] {
    return (this.type === 'BatchNorm1d' ? batchNorm1dLayer : batchNorm2dLayer).outputShape(this.s, inShape);
  }

  /** [N, C, inner] view sizes of the input: inner = H·W (2d) or 1 (1d). */
  private dims(x: Tensor): [number, number, number] {
    this.outputShape(x.shape);
    const n = x.shape[0], c = x.shape[1];
    return [n, c, x.size / (n * c)];
  }

  // only training steps reduce across threads: inference uses the running statistics (and,
  // without them, each thread's own rows)
  private sync(n: number): void {
    if (this.training) this.collective?.sum(this.sums, n);
  }

  // x: [N, C, H, W] (2d) or [N, C] (1d) -> same shape; y = (x - mean) / sqrt(var + eps) · weight + bias
  forward(x: Tensor): Tensor {
    const [n, c, inner] = this.dims(x);
    const xd = x.data, y = this.out.get(x.shape), yd = y.data;
    const mean = this.mean, invstd = this.invstd, sums = this.sums;
    const eps = this.s.eps;
    this.usedBatchStats = this.training || !this.s.trackRunningStats;
    if (this.usedBatchStats) {
      // two passes (mean, then squared deviations), each summed over the whole batch
      sums.fill(0);
      for (let i = 0; i < n; i++) {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let k = 0, o = (i * c + ch) * inner; k < inner; k++) s += xd[o + k];
          sums[ch] += s;
        }
      }
      sums[c] = n * inner;
      this.sync(c + 1);
      const count = sums[c];
      if (count <= 1 && this.training) throw new ShapeError(`${this.type}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
      for (let ch = 0; ch < c; ch++) mean[ch] = sums[ch] / count;
      sums.fill(0, 0, c);
      for (let i = 0; i < n; i++) {
        for (let ch = 0; ch < c; ch++) {
          const m = mean[ch];
          let s = 0;
          for (let k = 0, o = (i * c + ch) * inner; k < inner; k++) {
            const d = xd[o + k] - m;
            s += d * d;
          }
          sums[ch] += s;
        }
      }
      this.sync(c);
      for (let ch = 0; ch < c; ch++) invstd[ch] = 1 / Math.sqrt(sums[ch] / count + eps);
      if (this.training && this.runningMean && this.runningVar && this.numBatchesTracked && this.updatesRunningStats) {
        const mo = this.s.momentum, rm = this.runningMean.data, rv = this.runningVar.data;
        this.numBatchesTracked.data[0] += 1;
        // the running variance takes the unbiased estimate, as PyTorch does
        for (let ch = 0; ch < c; ch++) {
          rm[ch] = (1 - mo) * rm[ch] + mo * mean[ch];
          rv[ch] = (1 - mo) * rv[ch] + (mo * sums[ch]) / (count - 1);
        }
      }
    } else {
      const rm = this.runningMean!.data, rv = this.runningVar!.data;
      for (let ch = 0; ch < c; ch++) {
        mean[ch] = rm[ch];
        invstd[ch] = 1 / Math.sqrt(rv[ch] + eps);
      }
    }
    const w = this.weight?.value.data, b = this.bias?.value.data;
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        const scale = invstd[ch] * (w ? w[ch] : 1);
        const shift = (b ? b[ch] : 0) - mean[ch] * scale;
        for (let k = 0, o = (i * c + ch) * inner; k < inner; k++) yd[o + k] = xd[o + k] * scale + shift;
      }
    }
    this.x = x;
    return y;
  }

  // dout: like x. With batch statistics x̂ = (x - mean)·invstd and M values per channel:
  // dbias += Σ dout, dweight += Σ dout·x̂, dx = weight·invstd/M · (M·dout - Σ dout - x̂·Σ dout·x̂)
  // (sums over the whole batch); with running statistics dx = dout·weight·invstd.
  backward(dout: Tensor): Tensor {
    const x = this.x;
    if (!x) throw new ShapeError(`${this.type}: backward called before forward`);
    if (dout.size !== x.size) throw new ShapeError(`${this.type}: dout must be ${fmtShape(x.shape)}, but got ${fmtShape(dout.shape)}`);
    const [n, c, inner] = this.dims(x);
    const xd = x.data, gd = dout.data;
    const mean = this.mean, invstd = this.invstd, sums = this.sums;
    // sums[ch] = Σ dout, sums[c + ch] = Σ dout·x̂ (this thread's rows)
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        const m = mean[ch], is = invstd[ch];
        let s = 0, t = 0;
        for (let k = 0, o = (i * c + ch) * inner; k < inner; k++) {
          s += gd[o + k];
          t += gd[o + k] * (xd[o + k] - m) * is;
        }
        sums[ch] += s;
        sums[c + ch] += t;
      }
    }
    if (this.weight && this.bias) {
      const dw = this.weight.grad.data, db = this.bias.grad.data;
      for (let ch = 0; ch < c; ch++) {
        dw[ch] += sums[c + ch];
        db[ch] += sums[ch];
      }
    }
    if (!this.inputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(x.shape), dd = dx.data;
    const w = this.weight?.value.data;
    if (!this.usedBatchStats) {
      for (let i = 0; i < n; i++) {
        for (let ch = 0; ch < c; ch++) {
          const g = invstd[ch] * (w ? w[ch] : 1);
          for (let k = 0, o = (i * c + ch) * inner; k < inner; k++) dd[o + k] = gd[o + k] * g;
        }
      }
      return dx;
    }
    sums[2 * c] = n * inner;
    this.sync(2 * c + 1);
    const count = sums[2 * c];
    for (let ch = 0; ch < c; ch++) {
      const m = mean[ch], is = invstd[ch];
      const g = is * (w ? w[ch] : 1);
      const sdy = sums[ch] / count, sdyx = sums[c + ch] / count;
      for (let i = 0; i < n; i++) {
        for (let k = 0, o = (i * c + ch) * inner; k < inner; k++) dd[o + k] = g * (gd[o + k] - sdy - (xd[o + k] - m) * is * sdyx);
      }
    }
    return dx;
  }

  spec(): BatchNormSpec {
    return { ...this.s };
  }
}
