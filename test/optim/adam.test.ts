// Adam / AdamW against hand-worked steps, torch.optim results (test/fixtures/optim.json, made by
// scripts/oracle/gen_optim.py) and the network oracle (test/fixtures/network.json.gz); plus state save/restore.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/engine/errors.ts';
import { param } from '../../src/nn/module.ts';
import { Adam, AdamW, type AdamOptions } from '../../src/optim/adam.ts';
import { loadNetworkFixture } from '../nn/helpers.ts';
import { exact, expectClose, makeParams, oneParam, optimCases, runCases, runWithResume, setGrads } from './helpers.ts';

describe('Adam hand-worked', () => {
  it('first step moves each weight by lr against the sign of its gradient (none if the gradient is 0)', () => {
    // m̂ = g, v̂ = g², so p -= lr * g / (|g| + eps)
    const p = oneParam([1, -2, 0.5], [0.5, -0.25, 0]);
    new Adam([p], { lr: 0.1 }).step();
    expectClose(p.value.data, [0.9, -1.9, 0.5], exact, 'p');
  });

  it('second step uses bias corrections 1 - b^t', () => {
    const p = oneParam([0], [1]);
    const opt = new Adam([p], { lr: 1, betas: [0.5, 0.75], eps: 0 });
    opt.step(); // m = 0.5, v = 0.25, m̂ = v̂ = 1: p = -1
    expectClose(p.value.data, [-1], exact, 'after step 1');
    p.grad.data[0] = -1;
    opt.step(); // m = -0.25, v = 0.4375; m̂ = -0.25/0.75 = -1/3, v̂ = 0.4375/0.4375 = 1: p = -1 + 1/3
    expectClose(p.value.data, [-2 / 3], exact, 'after step 2');
  });

  it('amsgrad normalises by the running max of v (bias-corrected at the current step)', () => {
    const run = (amsgrad: boolean) => {
      const p = oneParam([0], [2]);
      const opt = new Adam([p], { lr: 1, betas: [0.5, 0.75], eps: 0, amsgrad });
      opt.step(); // m = 1, v = 1: m̂ = 2, v̂ = 4: p = -1
      p.grad.data[0] = 0;
      opt.step(); // m = 0.5, v = 0.75 (max stays 1); m̂ = 0.5/0.75
      return p.value.data[0];
    };
    expectClose([run(true)], [-1 - (2 / 3) / Math.sqrt(1 / 0.4375)], exact, 'amsgrad');
    expectClose([run(false)], [-1 - (2 / 3) / Math.sqrt(0.75 / 0.4375)], exact, 'adam');
  });

  it('weight decay is added to the gradient (L2), AdamW decays the weights directly', () => {
    // Adam: g' = g + 0.5 p = [0, 1.5] -> the first weight does not move, the second moves by lr
    const a = oneParam([2, 1], [-1, 1]);
    new Adam([a], { lr: 0.1, weightDecay: 0.5 }).step();
    expectClose(a.value.data, [2, 0.9], exact, 'Adam');
    // AdamW: p *= 1 - lr * wd = 0.95, then the plain Adam step of lr against sign(g)
    const w = oneParam([2, 1], [-1, 1]);
    new AdamW([w], { lr: 0.1, weightDecay: 0.5 }).step();
    expectClose(w.value.data, [1.9 + 0.1, 0.95 - 0.1], exact, 'AdamW');
  });

  it('AdamW defaults to weightDecay 0.01, Adam to 0', () => {
    expect(new AdamW([oneParam([1], [1])]).weightDecay).toBe(0.01);
    expect(new Adam([oneParam([1], [1])]).weightDecay).toBe(0);
    expect(new AdamW([oneParam([1], [1])], { weightDecay: 0 }).weightDecay).toBe(0);
  });
});

describe('Adam/AdamW match torch.optim (test/fixtures/optim.json)', () => {
  it('every Adam and AdamW case: betas, eps, weight decay, amsgrad', () => {
    const cases = optimCases((c) => c.optimizer !== 'SGD');
    // both optimizers, and the options that change the update rule, are exercised
    expect(new Set(cases.map((c) => c.optimizer))).toEqual(new Set(['Adam', 'AdamW']));
    for (const k of ['amsgrad', 'weight_decay']) expect(cases.some((c) => c.optimizer === 'Adam' && c.config[k]), k).toBe(true);
    expect(cases.some((c) => (c.config.betas as number[]).join() !== '0.9,0.999'), 'non-default betas').toBe(true);
    runCases(cases);
  });
});

describe('Adam matches the network oracle (test/fixtures/network.json.gz)', () => {
  it('Adam(lr 1e-3) steps from the given gradients', () => {
    const net = loadNetworkFixture();
    const params = makeParams(net.param_order, net.params_initial);
    const cfg = net.adam.config;
    const opt = new Adam(params, { lr: cfg.lr as number, betas: cfg.betas as [number, number], eps: cfg.eps as number, weightDecay: cfg.weight_decay as number, amsgrad: cfg.amsgrad as boolean });
    net.adam.steps.forEach((s, i) => {
      opt.zeroGrad();
      setGrads(params, s.grads);
      opt.step();
      for (const p of params) expectClose(p.value.data, s.params_after_step[p.name].data, net.tolerance, `step ${i + 1} ${p.name}`);
    });
  });
});

describe('Adam state', () => {
  const configs: [string, (ps: ReturnType<typeof param>[], o: AdamOptions) => Adam, AdamOptions][] = [
    ['Adam', (ps, o) => new Adam(ps, o), { lr: 0.01 }],
    ['Adam', (ps, o) => new Adam(ps, o), { lr: 0.01, weightDecay: 0.1, amsgrad: true }],
    ['AdamW', (ps, o) => new AdamW(ps, o), { lr: 0.01, amsgrad: true, betas: [0.8, 0.9] }],
  ];
  for (const [name, make, cfg] of configs) {
    it(`${name} ${JSON.stringify(cfg)}: resuming after 3 steps is bit-identical`, () => {
      const straight = runWithResume((ps) => make(ps, cfg), 6);
      expect(runWithResume((ps) => make(ps, cfg), 6, 3)).toEqual(straight);
      expect(runWithResume((ps) => make(ps, cfg), 6, 3, false)).not.toEqual(straight);
    });
  }

  it('state() names PyTorch buffers and is a snapshot', () => {
    const p = oneParam([1, 2], [1, -1]);
    const opt = new AdamW([p], { amsgrad: true });
    opt.step();
    const s = opt.state();
    opt.step();
    expect(s.type).toBe('AdamW');
    expect(s.step).toBe(1);
    expect(Object.keys(s.buffers).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    expectClose(s.buffers.exp_avg[0], [0.1, -0.1], exact, 'exp_avg after step 1');
  });

  it('rejects a state from another optimizer or missing a buffer', () => {
    const p = oneParam([1, 2], [1, -1]);
    const adam = new Adam([p]);
    adam.step();
    const s = adam.state();
    expect(() => new AdamW([p]).loadState(s)).toThrow(/AdamW\.loadState: state is for optimizer "Adam"/);
    expect(() => new Adam([p], { amsgrad: true }).loadState(s)).toThrow(/no buffer "max_exp_avg_sq"/);
    expect(() => new Adam([p, oneParam([1], [1])]).loadState(s)).toThrow(ConfigError);
  });
});

describe('Adam options', () => {
  const p = () => [oneParam([1], [1])];
  it('rejects impossible values as PyTorch does', () => {
    expect(() => new Adam(p(), { lr: -0.1 })).toThrow(/Adam: lr must be >= 0, got -0.1/);
    expect(() => new Adam(p(), { betas: [1, 0.999] })).toThrow(/betas\[0\] must be in \[0, 1\), got 1/);
    expect(() => new AdamW(p(), { betas: [0.9, -0.1] })).toThrow(/AdamW: betas\[1\]/);
    expect(() => new Adam(p(), { eps: -1 })).toThrow(/eps must be >= 0/);
    expect(() => new Adam(p(), { weightDecay: -1 })).toThrow(/weightDecay must be >= 0/);
  });
});
