// The shared optimizer contract: parameters in, zeroGrad / step, state out for checkpoints.
import type { Parameter } from '../nn/module.ts';

/** Optimizer state as plain arrays, keyed by parameter index, for the weights file. */
export interface OptimizerState {
  type: string;
  step: number;
  buffers: Record<string, Float32Array[]>;
}

export abstract class Optimizer {
  /** Learning rate in force; schedulers change it between epochs. */
  lr: number;

  constructor(readonly params: readonly Parameter[], lr: number) {
    this.lr = lr;
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.data.fill(0);
  }

  abstract step(): void;
  abstract state(): OptimizerState;
  abstract loadState(s: OptimizerState): void;
}
