// PyTorch's default initialisation, drawn from a seeded RNG (torch.manual_seed's analogue).
import { Rng } from '../engine/rng.ts';
import type { Tensor } from '../engine/tensor.ts';

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
