// What the element-wise activations (ReLU, LeakyReLU, Tanh, Sigmoid) share: any shape in, the
// same shape out, one saved tensor for backward and its checks; each layer supplies its two loops.
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { Module, type LayerSpec } from './module.ts';

export abstract class Activation extends Module {
  /** What the gradient is computed from: the input x, or the output y (cheaper when f' is a function of y). */
  protected abstract readonly saves: 'input' | 'output';
  private saved?: Tensor;
  private out = new Workspace();
  private dx = new Workspace();

  /** y = f(x), element by element. */
  protected abstract apply(x: Float32Array, y: Float32Array): void;
  /** dx = dout · f′, element by element, from the saved tensor's values. */
  protected abstract gradient(saved: Float32Array, dout: Float32Array, dx: Float32Array): void;

  outputShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  // x: any shape -> same shape
  forward(x: Tensor): Tensor {
    const y = this.out.get(x.shape);
    this.apply(x.data, y.data);
    this.saved = this.saves === 'input' ? x : y;
    return y;
  }

  backward(dout: Tensor): Tensor {
    const s = this.saved;
    if (!s) throw new ShapeError(`${this.type}: backward called before forward`);
    if (dout.size !== s.size) throw new ShapeError(`${this.type}: dout must be ${fmtShape(s.shape)}, but got ${fmtShape(dout.shape)}`);
    const dx = this.dx.get(s.shape);
    this.gradient(s.data, dout.data, dx.data);
    return dx;
  }

  spec(): LayerSpec {
    return { type: this.type };
  }
}
