// PyTorch's default initialisation, drawn from a seeded RNG (torch.manual_seed's analogue).
import { ShapeError } from '../engine/errors.ts';
import { Rng } from '../engine/rng.ts';
import { Tensor, fmtShape, kernelFloats, shapeSize } from '../engine/tensor.ts';
import type { LayerSource } from './layer.ts';
import { param, type Parameter } from './module.ts';

let globalRng = new Rng(0);

/** Reseeds the RNG that layers draw their initial weights from when given none. */
export function manualSeed(seed: number): Rng {
  globalRng = new Rng(seed);
  return globalRng;
}

export function defaultRng(): Rng {
  return globalRng;
}

/**
 * kaiming_uniform_(a=√5) as nn.Linear and nn.Conv2d use it: U(−1/√fanIn, 1/√fanIn);
 * their bias uses the same bound.
 */
export function uniformFanIn(t: Tensor, fanIn: number, rng: Rng): void {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform(-bound, bound);
}

/**
 * A parameter of `shape`: the stored tensor `name` when building from a weights file (adopted,
 * not copied), else drawn with uniformFanIn from `from.rng` (default: the global RNG).
 */
export function initParam(name: string, shape: readonly number[], fanIn: number, from: LayerSource = {}): Parameter {
  if (from.state) {
    const data = Object.hasOwn(from.state, name) ? from.state[name] : undefined;
    if (!data || data.length !== shapeSize(shape)) {
      throw new ShapeError(`${name}: expected a stored tensor ${fmtShape(shape)}, got ${data ? `${data.length} values` : 'none'}`);
    }
    return param(name, new Tensor(shape, data));
  }
  const p = param(name, new Tensor([...shape], kernelFloats(shapeSize(shape))));
  uniformFanIn(p.value, fanIn, from.rng ?? defaultRng());
  return p;
}
