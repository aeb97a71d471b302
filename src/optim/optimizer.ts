// The shared optimizer contract: parameters in, zeroGrad / step, state out for checkpoints.
import { ConfigError } from '../engine/errors.ts';
import { kernelFloats } from '../engine/tensor.ts';
import type { KernelCall } from '../engine/wasm/elementwise.ts';
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

  /**
   * Takes one step like step(), but hands it back as element-wise wasm kernel calls (one per
   * parameter, in order) for the caller to run, which may split them across threads; or returns
   * null, having changed nothing, where the step cannot run that way (the js kernels, a buffer
   * outside the kernel memory).
   */
  kernelStep(): KernelCall[] | null {
    return null;
  }
  abstract state(): OptimizerState;
  abstract loadState(s: OptimizerState): void;
}

/** Copies of saved buffers in the kernel memory (where the wasm updates run in place). */
export function kernelCopies(bufs: readonly ArrayLike<number>[]): Float32Array[] {
  return bufs.map((b) => {
    const a = kernelFloats(b.length);
    a.set(b);
    return a;
  });
}

/** Copies buffers so a saved state is a snapshot, not a view the next step() overwrites. */
export function copyBuffers(bufs: readonly ArrayLike<number>[]): Float32Array[] {
  return bufs.map((b) => Float32Array.from(b));
}

/**
 * Checks a saved state against this optimizer before loading it: same type, a whole step count,
 * and each named buffer holding one array per parameter with the parameter's size.
 */
export function checkState(owner: string, s: OptimizerState, params: readonly Parameter[], names: readonly string[]): void {
  if (s.type !== owner) {
    throw new ConfigError(`${owner}.loadState: state is for optimizer ${JSON.stringify(s.type)}`, `resume with the optimizer the run was started with`);
  }
  if (!Number.isInteger(s.step) || s.step < 0) throw new ConfigError(`${owner}.loadState: bad step count ${s.step}`);
  for (const name of names) {
    const bufs = s.buffers[name];
    if (!bufs) throw new ConfigError(`${owner}.loadState: state has no buffer "${name}"`);
    if (bufs.length !== params.length) {
      throw new ConfigError(`${owner}.loadState: buffer "${name}" holds ${bufs.length} arrays for ${params.length} parameters`);
    }
    bufs.forEach((b, i) => {
      if (b.length !== params[i].value.size) {
        throw new ConfigError(`${owner}.loadState: buffer "${name}"[${i}] has ${b.length} values, parameter ${params[i].name} has ${params[i].value.size}`);
      }
    });
  }
}
