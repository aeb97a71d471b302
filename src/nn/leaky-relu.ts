// Leaky rectified linear unit, like torch.nn.LeakyReLU: x where x > 0, negativeSlope·x elsewhere.
import { Activation } from './activation.ts';
import { checkSpec, shapeKeepingLayer } from './layer.ts';
import type { LayerSpec } from './module.ts';

export interface LeakyReLUSpec extends LayerSpec {
  type: 'LeakyReLU';
  negativeSlope: number;
}

export const leakyReluLayer = shapeKeepingLayer<LeakyReLUSpec>('LeakyReLU', 'leakyrelu', (s) => new LeakyReLU(s.negativeSlope),
  { negativeSlope: { kind: 'number', default: 0.01, arch: 'slope', repr: 'always' } }, ['negativeSlope']);

export class LeakyReLU extends Activation {
  readonly type = 'LeakyReLU';
  readonly negativeSlope: number;
  protected readonly saves = 'input';

  constructor(negativeSlope?: number) {
    super();
    this.negativeSlope = checkSpec(leakyReluLayer, { negativeSlope }).negativeSlope;
  }

  protected apply(x: Float32Array, y: Float32Array): void {
    const a = this.negativeSlope;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = v > 0 ? v : v * a;
    }
  }

  // dx = dout where x > 0, negativeSlope·dout elsewhere (x = 0 included, as in PyTorch)
  protected gradient(x: Float32Array, dout: Float32Array, dx: Float32Array): void {
    const a = this.negativeSlope;
    for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? dout[i] : dout[i] * a;
  }

  override spec(): LeakyReLUSpec {
    return { type: this.type, negativeSlope: this.negativeSlope };
  }
}
