// Logistic sigmoid 1 / (1 + e^-x), like torch.nn.Sigmoid.
import { Activation } from './activation.ts';
import { shapeKeepingLayer } from './layer.ts';

export const sigmoidLayer = shapeKeepingLayer('Sigmoid', 'sigmoid', () => new Sigmoid());

export class Sigmoid extends Activation {
  readonly type = 'Sigmoid';
  protected readonly saves = 'output'; // the gradient is y (1 - y)

  // computed in float64, so σ(-100) ≈ 3.8e-44 stays a float32 denormal as in PyTorch
  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
  }

  // dx = dout · (1 - y) · y
  protected gradient(y: Float32Array, dout: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < y.length; i++) dx[i] = dout[i] * (1 - y[i]) * y[i];
  }
}
