// Hyperbolic tangent, like torch.nn.Tanh.
import { Activation } from './activation.ts';
import { shapeKeepingLayer } from './layer.ts';

export const tanhLayer = shapeKeepingLayer('Tanh', 'tanh', () => new Tanh());

export class Tanh extends Activation {
  readonly type = 'Tanh';
  protected readonly saves = 'output'; // the gradient is 1 - y²

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]);
  }

  // dx = dout · (1 - y²)
  protected gradient(y: Float32Array, dout: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < y.length; i++) dx[i] = dout[i] * (1 - y[i] * y[i]);
  }
}
