// The contract every layer keeps: forward, backward, parameters, a JSON spec, shape inference.
import { Tensor, kernelFloats } from '../engine/tensor.ts';

/** A learnable tensor and its gradient; `name` is the PyTorch state_dict suffix ("weight"). */
export interface Parameter {
  readonly name: string;
  readonly value: Tensor;
  readonly grad: Tensor;
}

/** A tensor saved in the state dict but not learned (BatchNorm's running statistics), under its suffix. */
export interface Buffer {
  readonly name: string;
  readonly value: Tensor;
}

/** A layer's type and hyper-parameters as stored in the weights file and parsed from --arch. */
export interface LayerSpec {
  type: string;
  [key: string]: unknown;
}

export abstract class Module {
  abstract readonly type: string;
  training = true;
  /**
   * Whether backward must return dL/dinput. Training sets it false on a network (nothing reads
   * the gradient of the images), which lets the first layer with parameters skip that product;
   * backward then returns an empty tensor.
   */
  inputGrad = true;

  /** Computes the output; the returned tensor is owned by the layer and reused by the next call. */
  abstract forward(x: Tensor): Tensor;
  /** Takes dL/doutput, accumulates parameter gradients (+=) and returns dL/dinput. */
  abstract backward(dout: Tensor): Tensor;
  /** Output shape (batch dimension included) for an input shape; throws on a misfit. */
  abstract outputShape(inShape: readonly number[]): number[];
  /** Hyper-parameters that rebuild this layer exactly (parameters excluded). */
  abstract spec(): LayerSpec;

  parameters(): Parameter[] {
    return [];
  }

  /** State that is saved but not learned, in PyTorch's state_dict order (after the parameters). */
  buffers(): Buffer[] {
    return [];
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad.data.fill(0);
  }
}

/** What backward returns when inputGrad is false. */
export const NO_INPUT_GRAD = Tensor.zeros([0]);

/** Creates a parameter with a zeroed gradient of the same shape. */
export function param(name: string, value: Tensor): Parameter {
  // the gradient lives where the kernels write it in place (the wasm kernel memory, if used)
  return { name, value, grad: new Tensor([...value.shape], kernelFloats(value.size)) };
}
