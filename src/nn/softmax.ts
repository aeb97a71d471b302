// Softmax and LogSoftmax along one dimension of any tensor, like torch.nn.Softmax /
// torch.nn.LogSoftmax (dim may be negative). For prediction output: training uses the fused
// cross-entropy in loss.ts.
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import { checkSpec, type LayerDescriptor } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

// The tensor seen as [outer, size, inner] with the softmax running over `size`.
function split(op: string, shape: readonly number[], dim: number): [number, number, number] {
  const r = shape.length;
  const d = dim < 0 ? dim + r : dim;
  if (r === 0 || d < 0 || d >= r) {
    throw new ShapeError(`${op}: dim ${dim} is out of range for input ${fmtShape(shape)} (rank ${r})`);
  }
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= shape[i];
  for (let i = d + 1; i < r; i++) inner *= shape[i];
  return [outer, shape[d], inner];
}

abstract class SoftmaxBase extends Module {
  protected y?: Tensor; // forward output, read by backward
  protected out = new Workspace();
  protected dx = new Workspace();
  protected abstract readonly log: boolean;

  constructor(readonly dim = 1) {
    super();
    checkSpec(new.target === LogSoftmax ? logSoftmaxLayer : softmaxLayer, { dim });
  }

  outputShape(inShape: readonly number[]): number[] {
    split(this.type, inShape, this.dim);
    return [...inShape];
  }

  // x: any shape -> same shape, normalized along dim
  forward(x: Tensor): Tensor {
    const [outer, size, inner] = split(this.type, x.shape, this.dim);
    const y = this.out.get(x.shape);
    const xd = x.data, yd = y.data, log = this.log;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * size * inner + i;
        const end = base + size * inner;
        // NOTE: subtracting the maximum keeps exp() finite for inputs near ±1000.
        let max = -Infinity;
        for (let q = base; q < end; q += inner) if (xd[q] > max) max = xd[q];
        let sum = 0;
        for (let q = base; q < end; q += inner) sum += Math.exp(xd[q] - max);
        if (log) {
          const lse = max + Math.log(sum);
          for (let q = base; q < end; q += inner) yd[q] = xd[q] - lse;
        } else {
          const inv = 1 / sum;
          for (let q = base; q < end; q += inner) yd[q] = Math.exp(xd[q] - max) * inv;
        }
      }
    }
    this.y = y;
    return y;
  }

  // softmax: dx = y ⊙ (dout − Σ dout·y);  log-softmax: dx = dout − exp(y) · Σ dout
  backward(dout: Tensor): Tensor {
    const y = this.y;
    if (!y) throw new ShapeError(`${this.type}: backward called before forward`);
    if (!sameShape(dout.shape, y.shape)) {
      throw new ShapeError(`${this.type}: dout must be ${fmtShape(y.shape)}, but got ${fmtShape(dout.shape)}`);
    }
    const [outer, size, inner] = split(this.type, y.shape, this.dim);
    const dx = this.dx.get(y.shape);
    const yd = y.data, gd = dout.data, dd = dx.data, log = this.log;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * size * inner + i;
        const end = base + size * inner;
        let s = 0;
        if (log) {
          for (let q = base; q < end; q += inner) s += gd[q];
          for (let q = base; q < end; q += inner) dd[q] = gd[q] - Math.exp(yd[q]) * s;
        } else {
          for (let q = base; q < end; q += inner) s += gd[q] * yd[q];
          for (let q = base; q < end; q += inner) dd[q] = yd[q] * (gd[q] - s);
        }
      }
    }
    return dx;
  }

  spec(): LayerSpec {
    return { type: this.type, dim: this.dim };
  }
}

/** softmax(x) = exp(x − max) / Σ exp(x − max) along dim (default 1: classes of [N, C]). */
export class Softmax extends SoftmaxBase {
  readonly type = 'Softmax';
  protected readonly log = false;
}

/** log_softmax(x) = x − max − log Σ exp(x − max) along dim (default 1). */
export class LogSoftmax extends SoftmaxBase {
  readonly type = 'LogSoftmax';
  protected readonly log = true;
}

function softmaxDescriptor(type: 'Softmax' | 'LogSoftmax', make: (dim: number) => Module): LayerDescriptor<LayerSpec & { dim: number }> {
  return {
    type,
    arch: type.toLowerCase(),
    positional: [],
    input: 'any',
    fields: { dim: { kind: 'int', signed: true, limit: 'dim', default: 1, arch: false, repr: 'always' } },
    outputShape(s, inShape) {
      split(type, inShape, s.dim);
      return [...inShape];
    },
    params: () => [],
    create: (s) => make(s.dim),
  };
}

export const softmaxLayer = softmaxDescriptor('Softmax', (dim) => new Softmax(dim));
export const logSoftmaxLayer = softmaxDescriptor('LogSoftmax', (dim) => new LogSoftmax(dim));
