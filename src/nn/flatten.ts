// Flattens dimensions startDim..endDim into one, like torch.nn.Flatten (a view: no copy).
import { ConfigError, ShapeError } from '../engine/errors.ts';
import { type Tensor, fmtShape } from '../engine/tensor.ts';
import { Module, type LayerSpec } from './module.ts';

export class Flatten extends Module {
  readonly type = 'Flatten';
  private inShape?: readonly number[];

  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    for (const [k, v] of [['startDim', startDim], ['endDim', endDim]] as const) {
      if (!Number.isInteger(v)) throw new ConfigError(`Flatten: ${k} must be an integer, got ${v}`);
    }
  }

  outputShape(inShape: readonly number[]): number[] {
    const r = inShape.length;
    const s = this.startDim < 0 ? this.startDim + r : this.startDim;
    const e = this.endDim < 0 ? this.endDim + r : this.endDim;
    if (s < 0 || e >= r || s > e) {
      throw new ShapeError(`Flatten: dims ${this.startDim}..${this.endDim} do not fit input ${fmtShape(inShape)}`);
    }
    const mid = inShape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return [...inShape.slice(0, s), mid, ...inShape.slice(e + 1)];
  }

  forward(x: Tensor): Tensor {
    this.inShape = x.shape;
    return x.reshape(this.outputShape(x.shape));
  }

  backward(dout: Tensor): Tensor {
    if (!this.inShape) throw new ShapeError('Flatten: backward called before forward');
    return dout.reshape(this.inShape);
  }

  spec(): LayerSpec {
    return { type: this.type, startDim: this.startDim, endDim: this.endDim };
  }
}
