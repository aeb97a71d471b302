// Leaky rectified linear unit, like torch.nn.LeakyReLU: x where x > 0, negativeSlope·x elsewhere.
import { ShapeError } from '../engine/errors.ts';
import { Tensor, Workspace, fmtShape } from '../engine/tensor.ts';
import { checkSpec, shapeKeepingLayer } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

export interface LeakyReLUSpec extends LayerSpec {
  type: 'LeakyReLU';
  negativeSlope: number;
}

export const leakyReluLayer = shapeKeepingLayer<LeakyReLUSpec>('LeakyReLU', 'leakyrelu', (s) => new LeakyReLU(s.negativeSlope),
  { negativeSlope: { kind: 'number', default: 0.01, arch: 'slope', repr: 'always' } }, ['negativeSlope']);

export class LeakyReLU extends Module {
  readonly type = 'LeakyReLU';
  readonly negativeSlope: number;
  private x?: Tensor; // forward input, read by backward
  private out = new Workspace();
  private dx = new Workspace();

  constructor(negativeSlope?: number) {
    super();
    this.negativeSlope = checkSpec(leakyReluLayer, { negativeSlope }).negativeSlope;
  }

  outputShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  // x: any shape -> same shape
  forward(x: Tensor): Tensor {
    const y = this.out.get(x.shape);
    const xd = x.data, yd = y.data, a = this.negativeSlope;
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i];
      yd[i] = v > 0 ? v : v * a;
    }
    this.x = x;
    return y;
  }

  // dx = dout where x > 0, negativeSlope·dout elsewhere (x = 0 included, as in PyTorch)
  backward(dout: Tensor): Tensor {
    const x = this.x;
    if (!x) throw new ShapeError('LeakyReLU: backward called before forward');
    if (dout.size !== x.size) throw new ShapeError(`LeakyReLU: dout must be ${fmtShape(x.shape)}, but got ${fmtShape(dout.shape)}`);
    const dx = this.dx.get(x.shape);
    const xd = x.data, gd = dout.data, dd = dx.data, a = this.negativeSlope;
    for (let i = 0; i < xd.length; i++) dd[i] = xd[i] > 0 ? gd[i] : gd[i] * a;
    return dx;
  }

  spec(): LeakyReLUSpec {
    return { type: this.type, negativeSlope: this.negativeSlope };
  }
}
