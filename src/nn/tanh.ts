// Hyperbolic tangent, like torch.nn.Tanh.
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { shapeKeepingLayer } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

export const tanhLayer = shapeKeepingLayer('Tanh', 'tanh', () => new Tanh());

export class Tanh extends Module {
  readonly type = 'Tanh';
  private y?: Tensor; // forward output: the gradient is 1 - y²
  private out = new Workspace();
  private dx = new Workspace();

  outputShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  // x: any shape -> same shape
  forward(x: Tensor): Tensor {
    const y = this.out.get(x.shape);
    const xd = x.data, yd = y.data;
    for (let i = 0; i < xd.length; i++) yd[i] = Math.tanh(xd[i]);
    this.y = y;
    return y;
  }

  // dx = dout · (1 - y²)
  backward(dout: Tensor): Tensor {
    const y = this.y;
    if (!y) throw new ShapeError('Tanh: backward called before forward');
    if (dout.size !== y.size) throw new ShapeError(`Tanh: dout must be ${fmtShape(y.shape)}, but got ${fmtShape(dout.shape)}`);
    const dx = this.dx.get(y.shape);
    const yd = y.data, gd = dout.data, dd = dx.data;
    for (let i = 0; i < yd.length; i++) dd[i] = gd[i] * (1 - yd[i] * yd[i]);
    return dx;
  }

  spec(): LayerSpec {
    return { type: this.type };
  }
}
