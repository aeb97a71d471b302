// Rectified linear unit, like torch.nn.ReLU.
import { ShapeError, } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { Module, type LayerSpec } from './module.ts';

export class ReLU extends Module {
  readonly type = 'ReLU';
  private y?: Tensor; // forward output: y > 0 exactly where x > 0
  private out = new Workspace();
  private dx = new Workspace();

  outputShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  // x: any shape -> same shape
  forward(x: Tensor): Tensor {
    const y = this.out.get(x.shape);
    const xd = x.data, yd = y.data;
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i];
      yd[i] = v > 0 ? v : 0;
    }
    this.y = y;
    return y;
  }

  // NOTE: the gradient at exactly 0 is 0, as in PyTorch.
  backward(dout: Tensor): Tensor {
    const y = this.y;
    if (!y) throw new ShapeError('ReLU: backward called before forward');
    if (dout.size !== y.size) throw new ShapeError(`ReLU: dout must be ${fmtShape(y.shape)}, but got ${fmtShape(dout.shape)}`);
    const dx = this.dx.get(y.shape);
    const yd = y.data, gd = dout.data, dd = dx.data;
    for (let i = 0; i < yd.length; i++) dd[i] = yd[i] > 0 ? gd[i] : 0;
    return dx;
  }

  spec(): LayerSpec {
    return { type: this.type };
  }
}
