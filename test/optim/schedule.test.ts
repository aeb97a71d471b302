// StepLR / CosineAnnealingLR / CosineAnnealingWarmRestarts against torch.optim.lr_scheduler (test/fixtures/schedule.json, made
// by scripts/oracle/gen_optim.py), hand-worked values, and state save/restore.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/engine/errors.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { param } from '../../src/nn/module.ts';
import { CosineAnnealingLR, CosineAnnealingWarmRestarts, StepLR, type LRScheduler } from '../../src/optim/schedule.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { expectClose, loadJson, type Tol } from './helpers.ts';

interface SchedCase {
  name: string;
  scheduler: 'StepLR' | 'CosineAnnealingLR' | 'CosineAnnealingWarmRestarts';
  config: Record<string, number>;
  base_lr: number;
  lrs: number[];
  tolerance: Tol;
}

const sgd = (lr: number) => new SGD([param('w', Tensor.zeros([1]))], { lr });

function make(kind: string, cfg: Record<string, number>, lr: number): LRScheduler {
  const opt = sgd(lr);
  if (kind === 'StepLR') return new StepLR(opt, { stepSize: cfg.step_size, gamma: cfg.gamma });
  if (kind === 'CosineAnnealingWarmRestarts') return new CosineAnnealingWarmRestarts(opt, { t0: cfg.T_0, tMult: cfg.T_mult, etaMin: cfg.eta_min });
  return new CosineAnnealingLR(opt, { tMax: cfg.T_max, etaMin: cfg.eta_min });
}

/** The lr the optimizer trains with in each epoch 0..epochs, stepping the schedule after each. */
function trace(s: LRScheduler, epochs: number): number[] {
  const lrs = [s.optimizer.lr];
  for (let e = 0; e < epochs; e++) {
    s.step();
    lrs.push(s.optimizer.lr);
  }
  return lrs;
}

describe('schedulers match torch.optim.lr_scheduler (test/fixtures/schedule.json)', () => {
  it('every case of StepLR, CosineAnnealingLR and CosineAnnealingWarmRestarts', () => {
    const cases = loadJson<{ cases: SchedCase[] }>('test/fixtures/schedule.json').cases;
    expect(new Set(cases.map((c) => c.scheduler))).toEqual(new Set(['StepLR', 'CosineAnnealingLR', 'CosineAnnealingWarmRestarts']));
    for (const c of cases) expectClose(trace(make(c.scheduler, c.config, c.base_lr), c.lrs.length - 1), c.lrs, c.tolerance, c.name);
  });
});

describe('StepLR', () => {
  it('keeps the lr for stepSize epochs, then multiplies it by gamma (default 0.1)', () => {
    const lrs = trace(new StepLR(sgd(1), { stepSize: 2 }), 6);
    expectClose(lrs, [1, 1, 0.1, 0.1, 0.01, 0.01, 0.001], { rtol: 1e-15, atol: 0 }, 'lrs');
  });

  it('rejects a bad stepSize or gamma', () => {
    expect(() => new StepLR(sgd(1), { stepSize: 0 })).toThrow(/StepLR: stepSize must be a positive integer, got 0/);
    expect(() => new StepLR(sgd(1), { stepSize: 1.5 })).toThrow(ConfigError);
    expect(() => new StepLR(sgd(1), { stepSize: 1, gamma: 0 })).toThrow(/gamma must be > 0/);
  });
});

describe('CosineAnnealingLR', () => {
  it('follows half a cosine from base to etaMin over tMax epochs', () => {
    const lrs = trace(new CosineAnnealingLR(sgd(0.1), { tMax: 4, etaMin: 0.02 }), 4);
    // 0.02 + 0.08 * (1 + cos(pi e / 4)) / 2 for e = 0..4
    const r = Math.SQRT1_2;
    expectClose(lrs, [0.1, 0.02 + 0.04 * (1 + r), 0.06, 0.02 + 0.04 * (1 - r), 0.02], { rtol: 1e-14, atol: 1e-17 }, 'lrs');
  });

  it('rejects a bad tMax or etaMin', () => {
    expect(() => new CosineAnnealingLR(sgd(1), { tMax: 0 })).toThrow(/tMax must be a positive integer, got 0/);
    expect(() => new CosineAnnealingLR(sgd(1), { tMax: 3, etaMin: -1 })).toThrow(/etaMin must be >= 0/);
  });
});

describe('scheduler state', () => {
  for (const [name, build] of [
    ['StepLR', (o: SGD) => new StepLR(o, { stepSize: 2, gamma: 0.5 })],
    ['CosineAnnealingLR', (o: SGD) => new CosineAnnealingLR(o, { tMax: 7, etaMin: 0.001 })],
  ] as const) {
    it(`${name}: a schedule restored after 3 epochs continues exactly`, () => {
      const straight = trace(build(sgd(0.1)), 10);
      const first = build(sgd(0.1));
      trace(first, 3);
      const saved = JSON.parse(JSON.stringify(first.state()));
      expect(saved).toEqual({ lastEpoch: 3 });
      // a fresh run built with the configured lr, as a resumed CLI run would
      const resumed = build(sgd(0.1));
      resumed.loadState(saved);
      expect(resumed.optimizer.lr).toBe(straight[3]);
      expect([resumed.optimizer.lr, ...trace(resumed, 7).slice(1)]).toEqual(straight.slice(3));
    });
  }

  it('rejects a bad lastEpoch', () => {
    expect(() => new StepLR(sgd(1), { stepSize: 1 }).loadState({ lastEpoch: -1 })).toThrow(/StepLR\.loadState: lastEpoch must be a non-negative integer, got -1/);
  });
});

describe('CosineAnnealingWarmRestarts', () => {
  it('hand-worked: t0 2, tMult 2 runs cycles of 2, 4, 8 steps, each from base down the cosine', () => {
    const lrs = trace(new CosineAnnealingWarmRestarts(sgd(1), { t0: 2, tMult: 2 }), 7);
    // cycle 1: steps 0,1 at 1, 1/2; cycle 2: steps 2..5 at 1, (1+cos(pi/4))/2, 1/2, (1+cos(3pi/4))/2; cycle 3 starts at 6
    const c = (x: number) => (1 + Math.cos(x)) / 2;
    expectClose(lrs, [1, 0.5, 1, c(Math.PI / 4), 0.5, c((3 * Math.PI) / 4), 1, c(Math.PI / 8)], { rtol: 1e-15, atol: 1e-16 }, 'lrs');
  });

  it('depends only on the step count: a restored schedule continues exactly', () => {
    const a = new CosineAnnealingWarmRestarts(sgd(0.1), { t0: 5 });
    for (let i = 0; i < 13; i++) a.step();
    const b = new CosineAnnealingWarmRestarts(sgd(0.1), { t0: 5 });
    b.loadState(a.state());
    expect(trace(b, 6)).toEqual(trace(a, 6));
  });

  it('rejects a bad t0, tMult or etaMin', () => {
    expect(() => new CosineAnnealingWarmRestarts(sgd(1), { t0: 0 })).toThrow(/CosineAnnealingWarmRestarts: t0 must be a positive integer, got 0/);
    expect(() => new CosineAnnealingWarmRestarts(sgd(1), { t0: 2, tMult: 1.5 })).toThrow(/tMult must be a positive integer, got 1.5/);
    expect(() => new CosineAnnealingWarmRestarts(sgd(1), { t0: 2, etaMin: -1 })).toThrow(ConfigError);
  });
});
