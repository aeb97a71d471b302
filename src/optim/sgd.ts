// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, following
// the update rule torch.optim.SGD documents.
import { useWasm } from '../engine/backend.ts';
import { ConfigError } from '../engine/errors.ts';
import { kernelFloats } from '../engine/tensor.ts';
import { runKernelCall, sgdCall, wasmSgd, type KernelCall, type SgdScalars } from '../engine/wasm/elementwise.ts';
import type { Parameter } from '../nn/module.ts';
import { Optimizer, checkState, copyBuffers, kernelCopies, type OptimizerState } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private bufs: (Float32Array | null)[];
  private t = 0;

  constructor(params: readonly Parameter[], opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(opts.lr >= 0)) throw new ConfigError(`SGD: lr must be >= 0, got ${opts.lr}`);
    if (!(this.momentum >= 0)) throw new ConfigError(`SGD: momentum must be >= 0, got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new ConfigError(`SGD: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ConfigError('SGD: nesterov needs momentum > 0 and dampening 0');
    }
    this.bufs = params.map(() => null);
  }

  // The scalars of parameter idx's next update (its buffer's first step takes d itself).
  private scalars(idx: number): SgdScalars {
    const { lr, momentum: mu, dampening: tau, nesterov, weightDecay: wd } = this;
    const first = this.bufs[idx] === null;
    return { lr, wd, keep: first ? 0 : mu, c: first ? 1 : 1 - tau, mu, nesterov };
  }

  override kernelStep(): KernelCall[] | null {
    if (!useWasm()) return null;
    const mu = this.momentum;
    const calls: KernelCall[] = [];
    const bufs = this.params.map((p, idx) => (mu === 0 ? null : (this.bufs[idx] ?? kernelFloats(p.value.size))));
    for (let idx = 0; idx < this.params.length; idx++) {
      const p = this.params[idx];
      const c = sgdCall(p.value.data, p.grad.data, bufs[idx], this.scalars(idx));
      if (!c) return null;
      calls.push(c);
    }
    // committed only now: a refused step allocates no buffer (the next step is still a first)
    this.bufs = bufs;
    this.t++;
    return calls;
  }

  step(): void {
    const calls = this.kernelStep();
    if (calls) {
      for (const c of calls) runKernelCall(c, 0, c.n);
      return;
    }
    const { lr, momentum: mu, dampening: tau, nesterov, weightDecay: wd } = this;
    this.t++;
    this.params.forEach((p, idx) => {
      const w = p.value.data, g = p.grad.data;
      let buf = this.bufs[idx];
      const first = buf === null;
      const s = this.scalars(idx); // before the buffer exists: a first step's buffer is d itself
      if (mu !== 0 && buf === null) buf = this.bufs[idx] = kernelFloats(w.length);
      if (useWasm()) {
        // float32 lanes throughout, as PyTorch computes
        wasmSgd(w, g, mu !== 0 ? buf : null, s);
        return;
      }
      for (let i = 0; i < w.length; i++) {
        let d = g[i];
        if (wd !== 0) d += wd * w[i];
        if (mu !== 0) {
          buf![i] = first ? d : mu * buf![i] + (1 - tau) * d;
          const b = buf![i]; // the float32 buffer value, as PyTorch uses it
          d = nesterov ? d + mu * b : b;
        }
        w[i] -= lr * d;
      }
    });
  }

  /** A snapshot (copies) of the step count and momentum buffers, for the checkpoint. */
  state(): OptimizerState {
    return {
      type: 'SGD',
      step: this.t,
      buffers: this.momentum ? { momentum: copyBuffers(this.bufs.map((b, i) => b ?? new Float32Array(this.params[i].value.size))) } : {},
    };
  }

  loadState(s: OptimizerState): void {
    const hasBufs = this.momentum !== 0 && s.step > 0;
    checkState('SGD', s, this.params, hasBufs ? ['momentum'] : []);
    this.t = s.step;
    this.bufs = hasBufs ? kernelCopies(s.buffers.momentum) : this.params.map(() => null);
  }
}
