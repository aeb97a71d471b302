// Adam and AdamW, following the update rules torch.optim.Adam / AdamW document
// (bias-corrected moments, eps added after the square root, optional AMSGrad).
import { ConfigError } from '../engine/errors.ts';
import type { Parameter } from '../nn/module.ts';
import { useWasm } from '../engine/backend.ts';
import { adamCall, runKernelCall, wasmAdam, type AdamScalars, type KernelCall } from '../engine/wasm/elementwise.ts';
import { kernelFloats } from '../engine/tensor.ts';
import { Optimizer, checkState, copyBuffers, kernelCopies, type OptimizerState } from './optimizer.ts';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** AdamW decays the weights directly instead of adding wd·p to the gradient. */
  protected decoupled = false;
  private m: Float32Array[];
  private v: Float32Array[];
  private vmax: Float32Array[];
  private t = 0;

  constructor(params: readonly Parameter[], opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.amsgrad = opts.amsgrad ?? false;
    const name = new.target.name;
    if (!(this.lr >= 0)) throw new ConfigError(`${name}: lr must be >= 0, got ${this.lr}`);
    this.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) throw new ConfigError(`${name}: betas[${i}] must be in [0, 1), got ${b}`);
    });
    if (!(this.eps >= 0)) throw new ConfigError(`${name}: eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new ConfigError(`${name}: weightDecay must be >= 0, got ${this.weightDecay}`);
    this.m = params.map((p) => kernelFloats(p.value.size));
    this.v = params.map((p) => kernelFloats(p.value.size));
    this.vmax = this.amsgrad ? params.map((p) => new Float32Array(p.value.size)) : [];
  }

  // The scalars of step t.
  private scalars(t: number): AdamScalars {
    const [b1, b2] = this.betas;
    const { lr, eps, weightDecay: wd, decoupled } = this;
    // NOTE: multiplying by 1/bc2sqrt (exact to float32 precision) saves a division per value; the
    // two divisions made the step 2x slower.
    const invBc2sqrt = 1 / Math.sqrt(1 - Math.pow(b2, t));
    const stepSize = lr / (1 - Math.pow(b1, t));
    return { decay: decoupled ? 1 - lr * wd : 1, l2: decoupled ? 0 : wd, b1, b2, stepSize, invBc2sqrt, eps };
  }

  override kernelStep(): KernelCall[] | null {
    if (!useWasm() || this.amsgrad) return null;
    const s = this.scalars(this.t + 1);
    const calls: KernelCall[] = [];
    for (let i = 0; i < this.params.length; i++) {
      const c = adamCall(this.params[i].value.data, this.params[i].grad.data, this.m[i], this.v[i], s);
      if (!c) return null;
      calls.push(c);
    }
    this.t++;
    return calls;
  }

  step(): void {
    const calls = this.kernelStep();
    if (calls) {
      for (const c of calls) runKernelCall(c, 0, c.n);
      return;
    }
    const t = ++this.t;
    const [b1, b2] = this.betas;
    const { lr, eps, weightDecay: wd, amsgrad, decoupled } = this;
    const s = this.scalars(t);
    const { stepSize, invBc2sqrt } = s;
    if (useWasm() && !amsgrad) {
      // float32 lanes throughout (PyTorch's own precision); the js loop below rounds only on store
      this.params.forEach((p, idx) => wasmAdam(p.value.data, p.grad.data, this.m[idx], this.v[idx], s));
      return;
    }
    this.params.forEach((p, idx) => {
      const w = p.value.data, g = p.grad.data, m = this.m[idx], v = this.v[idx];
      const vmax = amsgrad ? this.vmax[idx] : v;
      for (let i = 0; i < w.length; i++) {
        let gi = g[i];
        if (wd !== 0) {
          if (decoupled) w[i] *= 1 - lr * wd;
          else gi += wd * w[i];
        }
        // NOTE: the moments are read back from the float32 buffers, as PyTorch computes with them.
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        const mi = m[i];
        let vi = v[i];
        if (amsgrad) {
          if (vi > vmax[i]) vmax[i] = vi;
          vi = vmax[i];
        }
        w[i] -= (stepSize * mi) / (Math.sqrt(vi) * invBc2sqrt + eps);
      }
    });
  }

  /** A snapshot (copies) of the step count and moment buffers, with PyTorch's state names. */
  state(): OptimizerState {
    const buffers: Record<string, Float32Array[]> = { exp_avg: copyBuffers(this.m), exp_avg_sq: copyBuffers(this.v) };
    if (this.amsgrad) buffers.max_exp_avg_sq = copyBuffers(this.vmax);
    return { type: this.constructor.name, step: this.t, buffers };
  }

  loadState(s: OptimizerState): void {
    const names = this.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    checkState(this.constructor.name, s, this.params, names);
    this.t = s.step;
    // into the kernel memory, where the wasm update runs on them in place
    this.m = kernelCopies(s.buffers.exp_avg);
    this.v = kernelCopies(s.buffers.exp_avg_sq);
    if (this.amsgrad) this.vmax = copyBuffers(s.buffers.max_exp_avg_sq);
  }
}

/** Adam with decoupled weight decay (default weightDecay 0.01, as torch.optim.AdamW). */
export class AdamW extends Adam {
  constructor(params: readonly Parameter[], opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 0.01 });
    this.decoupled = true;
  }
}
