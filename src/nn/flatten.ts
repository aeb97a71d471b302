// Flattens dimensions startDim..endDim into one, like torch.nn.Flatten (a view: no copy).
import { ShapeError } from '../engine/errors.ts';
import { type Tensor, fmtShape } from '../engine/tensor.ts';
import { checkSpec, type LayerDescriptor } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

export interface FlattenSpec extends LayerSpec {
  type: 'Flatten';
  startDim: number;
  endDim: number;
}

export const flattenLayer: LayerDescriptor<FlattenSpec> = {
  type: 'Flatten',
  arch: 'flatten',
  positional: [],
  input: 'any',
  fields: {
    startDim: { kind: 'int', signed: true, limit: 'dim', default: 1, arch: false },
    endDim: { kind: 'int', signed: true, limit: 'dim', default: -1, arch: false },
  },
  outputShape(s, inShape) {
    const r = inShape.length;
    const a = s.startDim < 0 ? s.startDim + r : s.startDim;
    const e = s.endDim < 0 ? s.endDim + r : s.endDim;
    if (a < 0 || e >= r || a > e) throw new ShapeError(`Flatten: dims ${s.startDim}..${s.endDim} do not fit input ${fmtShape(inShape)}`);
    const mid = inShape.slice(a, e + 1).reduce((x, y) => x * y, 1);
    return [...inShape.slice(0, a), mid, ...inShape.slice(e + 1)];
  },
  params: () => [],
  create: (s) => new Flatten(s.startDim, s.endDim),
};

export class Flatten extends Module {
  readonly type = 'Flatten';
  private inShape?: readonly number[];

  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    checkSpec(flattenLayer, { startDim, endDim });
  }

  outputShape(inShape: readonly number[]): number[] {
    return flattenLayer.outputShape(this.spec(), inShape);
  }

  forward(x: Tensor): Tensor {
    this.inShape = x.shape;
    return x.reshape(this.outputShape(x.shape));
  }

  backward(dout: Tensor): Tensor {
    if (!this.inShape) throw new ShapeError('Flatten: backward called before forward');
    return dout.reshape(this.inShape);
  }

  spec(): FlattenSpec {
    return { type: this.type, startDim: this.startDim, endDim: this.endDim };
  }
}
