// Inverted dropout, like torch.nn.Dropout: in training each value is zeroed with probability p
// and the survivors are scaled by 1/(1-p); in eval mode it is the identity.
import { ShapeError } from '../engine/errors.ts';
import type { Rng } from '../engine/rng.ts';
import { Tensor, Workspace, fmtShape, sameShape } from '../engine/tensor.ts';
import { defaultRng } from './init.ts';
import { checkSpec, shapeKeepingLayer } from './layer.ts';
import { Module, type LayerSpec } from './module.ts';

export interface DropoutSpec extends LayerSpec {
  type: 'Dropout';
  p: number;
}

export const dropoutLayer = shapeKeepingLayer<DropoutSpec>('Dropout', 'dropout', (s) => new Dropout(s.p),
  { p: { kind: 'number', min: 0, max: 1, default: 0.5, repr: 'always', what: 'a probability between 0 and 1' } }, ['p']);

export interface DropoutOptions {
  /** Where masks come from; by default the global RNG in force at each forward (manualSeed). */
  rng?: Rng;
}

export class Dropout extends Module {
  readonly type = 'Dropout';
  rng?: Rng;
  private mask = new Workspace(); // 0 or 1/(1-p) per value of the last training forward
  private masked = false; // the last forward applied a mask (training with p > 0)
  private shape?: readonly number[];
  private out = new Workspace();
  private dx = new Workspace();

  constructor(readonly p = 0.5, opts: DropoutOptions = {}) {
    super();
    checkSpec(dropoutLayer, { p });
    this.rng = opts.rng;
  }

  outputShape(inShape: readonly number[]): number[] {
    return [...inShape];
  }

  // x: any shape -> same shape
  forward(x: Tensor): Tensor {
    this.shape = x.shape;
    this.masked = this.training && this.p > 0;
    if (!this.masked) return x;
    const mask = this.mask.get(x.shape).data;
    const y = this.out.get(x.shape);
    const xd = x.data, yd = y.data;
    if (this.p === 1) {
      // NOTE: PyTorch returns zeros for p = 1 rather than scaling by 1/0.
      mask.fill(0);
      yd.fill(0);
      return y;
    }
    const rng = this.rng ?? defaultRng();
    const p = this.p, scale = 1 / (1 - p);
    for (let i = 0; i < xd.length; i++) {
      const m = rng.next() < p ? 0 : scale;
      mask[i] = m;
      yd[i] = xd[i] * m;
    }
    return y;
  }

  // dx = dout ⊙ mask (the identity when no mask was applied)
  backward(dout: Tensor): Tensor {
    const shape = this.shape;
    if (!shape) throw new ShapeError('Dropout: backward called before forward');
    if (!sameShape(dout.shape, shape)) throw new ShapeError(`Dropout: dout must be ${fmtShape(shape)}, but got ${fmtShape(dout.shape)}`);
    if (!this.masked) return dout;
    const mask = this.mask.get(shape).data;
    const dx = this.dx.get(shape);
    const gd = dout.data, dd = dx.data;
    for (let i = 0; i < gd.length; i++) dd[i] = gd[i] * mask[i];
    return dx;
  }

  spec(): DropoutSpec {
    return { type: this.type, p: this.p };
  }
}
