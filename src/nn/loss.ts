// Cross-entropy on logits with integer targets, like torch.nn.CrossEntropyLoss (mean
// reduction, optional label smoothing); backward is the fused (softmax − target) / N.
import { ConfigError, ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, expectRank } from '../engine/tensor.ts';

export interface CrossEntropyOptions {
  labelSmoothing?: number;
}

export class CrossEntropyLoss {
  readonly labelSmoothing: number;
  private probs = new Workspace(); // softmax of the last forward, read by backward
  private dlogits = new Workspace();
  private target?: ArrayLike<number>;
  private p?: Tensor;

  constructor(opts: CrossEntropyOptions = {}) {
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) {
      throw new ConfigError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${opts.labelSmoothing}`);
    }
  }

  // logits: [N, C], target: N class indices -> mean loss
  forward(logits: Tensor, target: ArrayLike<number>): number {
    expectRank('CrossEntropyLoss', logits, 2, 'logits');
    const [n, c] = logits.shape;
    if (target.length !== n) {
      throw new ShapeError(`CrossEntropyLoss: ${n} logits rows but ${target.length} targets`);
    }
    const x = logits.data;
    this.p = this.probs.get(logits.shape);
    const p = this.p.data;
    const eps = this.labelSmoothing;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const t = target[i];
      if (!Number.isInteger(t) || t < 0 || t >= c) {
        throw new ShapeError(`CrossEntropyLoss: target ${t} at row ${i} is outside [0, ${c})`);
      }
      const row = i * c;
      // NOTE: subtracting the row maximum keeps exp() finite for logits near ±1000.
      let max = -Infinity;
      for (let j = 0; j < c; j++) if (x[row + j] > max) max = x[row + j];
      let sum = 0;
      for (let j = 0; j < c; j++) {
        const e = Math.exp(x[row + j] - max);
        p[row + j] = e;
        sum += e;
      }
      const lse = max + Math.log(sum);
      for (let j = 0; j < c; j++) p[row + j] /= sum;
      let rowLoss = lse - x[row + t];
      if (eps > 0) {
        let meanNeg = 0;
        for (let j = 0; j < c; j++) meanNeg += lse - x[row + j];
        rowLoss = (1 - eps) * rowLoss + (eps * meanNeg) / c;
      }
      total += rowLoss;
    }
    this.target = target;
    return total / n;
  }

  /** dL/dlogits for the last forward, scaled by the upstream gradient `scale` (1 for the loss itself). */
  backward(scale = 1): Tensor {
    const target = this.target, probs = this.p;
    if (!target || !probs) throw new ShapeError('CrossEntropyLoss: backward called before forward');
    const [n, c] = probs.shape;
    const d = this.dlogits.get(probs.shape);
    const p = probs.data, g = d.data;
    const eps = this.labelSmoothing;
    const k = scale / n;
    for (let i = 0; i < n; i++) {
      const row = i * c;
      for (let j = 0; j < c; j++) g[row + j] = (p[row + j] - eps / c) * k;
      g[row + target[i]] -= (1 - eps) * k;
    }
    return d;
  }
}

/** Index of the largest value in each row of x: [N, C] -> N class indices. */
export function argmaxRows(x: Tensor, out = new Int32Array(x.shape[0])): Int32Array {
  const [n, c] = x.shape;
  const d = x.data;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = d[i * c];
    for (let j = 1; j < c; j++) {
      if (d[i * c + j] > bv) {
        bv = d[i * c + j];
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}
