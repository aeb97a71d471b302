// Logistic sigmoid 1 / (1 + e^-x), like torch.nn.Sigmoid.
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { shapeKeepingLayer } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

export const sigmoidLayer = shapeKeepingLayer('Sigmoid', 'sigmoid', () => new Sigmoid());

export class Sigmoid extends Module {
  readonly type = 'Sigmoid';
  private y?: Tensor; // forward output: the gradient is y (1 - y)
  private out = new Workspace();
  private dx = new Workspace();

  outputShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  // x: any shape -> same shape; computed in float64, so σ(-100) ≈ 3.8e-44 stays a float32 denormal as in PyTorch
  forward(x: Tensor): Tensor {
    const y = this.out.get(x.shape);
    const xd = x.data, yd = y.data;
    for (let i = 0; i < xd.length; i++) yd[i] = 1 / (1 + Math.exp(-xd[i]));
    this.y = y;
    return y;
  }

  // dx = dout · (1 - y) · y
  backward(dout: Tensor): Tensor {
    const y = this.y;
    if (!y) throw new ShapeError('Sigmoid: backward called before forward');
    if (dout.size !== y.size) throw new ShapeError(`Sigmoid: dout must be ${fmtShape(y.shape)}, but got ${fmtShape(dout.shape)}`);
    const dx = this.dx.get(y.shape);
    const yd = y.data, gd = dout.data, dd = dx.data;
    for (let i = 0; i < yd.length; i++) dd[i] = gd[i] * (1 - yd[i]) * yd[i];
    return dx;
  }

  spec(): LayerSpec {
    return { type: this.type };
  }
}
