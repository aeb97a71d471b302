// SGD against hand-worked steps, torch.optim.SGD results (test/fixtures/optim.json, made by
// scripts/oracle/gen_optim.py) and the network oracle (test/fixtures/network.json.gz); plus state save/restore.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/engine/errors.ts';
import { SGD, type SGDOptions } from '../../src/optim/sgd.ts';
import { loadNetworkFixture } from '../nn/helpers.ts';
import { exact, expectClose, makeParams, oneParam, optimCases, runCases, runWithResume, setGrads } from './helpers.ts';

describe('SGD hand-worked', () => {
  it('plain step: p -= lr * g', () => {
    const p = oneParam([1, -2, 0.5], [0.5, 0.25, 0]);
    new SGD([p], { lr: 0.1 }).step();
    expectClose(p.value.data, [0.95, -2.025, 0.5], exact, 'p');
  });

  it('weight decay adds wd * p to the gradient before momentum', () => {
    // d = g + 0.1 p = [0.6, 0.05]; first step buf = d; p -= 0.1 d
    const p = oneParam([1, -2], [0.5, 0.25]);
    new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }).step();
    expectClose(p.value.data, [0.94, -2.005], exact, 'p');
  });

  it('momentum: the first buffer is the gradient itself, dampening applies from step 2', () => {
    const p = oneParam([1], [1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    opt.step(); // buf = 1 (no dampening on the first step); p = 0.9
    expectClose(p.value.data, [0.9], exact, 'after step 1');
    p.grad.data[0] = 2;
    opt.step(); // buf = 0.9 * 1 + 0.5 * 2 = 1.9; p = 0.9 - 0.19 = 0.71
    expectClose(p.value.data, [0.71], exact, 'after step 2');
  });

  it('nesterov steps along g + momentum * buf', () => {
    const p = oneParam([1, -2], [0.6, 0.05]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true });
    opt.step(); // buf = g; d = 1.9 g
    expectClose(p.value.data, [1 - 0.114, -2 - 0.0095], exact, 'after step 1');
    p.grad.data.set([1, 0]);
    opt.step(); // buf = 0.9 * [0.6, 0.05] + [1, 0] = [1.54, 0.045]; d = g + 0.9 buf = [2.386, 0.0405]
    expectClose(p.value.data, [0.886 - 0.2386, -2.0095 - 0.00405], exact, 'after step 2');
  });
});

describe('SGD matches torch.optim.SGD (test/fixtures/optim.json)', () => {
  it('every SGD case: momentum, dampening, nesterov, weight decay and their mixes', () => {
    const cases = optimCases((c) => c.optimizer === 'SGD');
    // the options that change the update rule are all exercised
    for (const k of ['momentum', 'dampening', 'nesterov', 'weight_decay']) expect(cases.some((c) => c.config[k]), k).toBe(true);
    runCases(cases);
  });
});

describe('SGD matches the network oracle (test/fixtures/network.json.gz)', () => {
  it('SGD(lr 0.1, momentum 0.9) steps from the given gradients', () => {
    const net = loadNetworkFixture();
    const params = makeParams(net.param_order, net.params_initial);
    const cfg = net.sgd.config;
    const opt = new SGD(params, { lr: cfg.lr as number, momentum: cfg.momentum as number, dampening: cfg.dampening as number, nesterov: cfg.nesterov as boolean, weightDecay: cfg.weight_decay as number });
    net.sgd.steps.forEach((s, i) => {
      opt.zeroGrad();
      setGrads(params, s.grads);
      opt.step();
      for (const p of params) expectClose(p.value.data, s.params_after_step[p.name].data, net.tolerance, `step ${i + 1} ${p.name}`);
    });
  });
});

describe('SGD state', () => {
  const configs: SGDOptions[] = [
    { lr: 0.1 },
    { lr: 0.1, momentum: 0.9 },
    { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 },
  ];
  for (const cfg of configs) {
    it(`resuming after 3 steps is bit-identical: ${JSON.stringify(cfg)}`, () => {
      const straight = runWithResume((ps) => new SGD(ps, cfg), 6);
      const resumed = runWithResume((ps) => new SGD(ps, cfg), 6, 3);
      expect(resumed).toEqual(straight);
      // and the state really matters: restarting momentum from zero gives other values
      if (cfg.momentum) expect(runWithResume((ps) => new SGD(ps, cfg), 6, 3, false)).not.toEqual(straight);
    });
  }

  it('state() is a snapshot, not a view of the live buffers', () => {
    const p = oneParam([1], [1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    opt.step();
    const s = opt.state();
    opt.step();
    expect(s.step).toBe(1);
    expect(Array.from(s.buffers.momentum[0])).toEqual([1]);
  });

  it('rejects a state from another optimizer or of the wrong size', () => {
    const p = oneParam([1, 2], [1, 1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    expect(() => opt.loadState({ type: 'Adam', step: 1, buffers: {} })).toThrow(/SGD\.loadState: state is for optimizer "Adam"/);
    expect(() => opt.loadState({ type: 'SGD', step: 1, buffers: { momentum: [new Float32Array(3)] } })).toThrow(/has 3 values, parameter w has 2/);
    expect(() => opt.loadState({ type: 'SGD', step: 1, buffers: {} })).toThrow(ConfigError);
  });
});

describe('SGD options', () => {
  const p = () => [oneParam([1], [1])];
  it('rejects impossible values as PyTorch does', () => {
    expect(() => new SGD(p(), { lr: -1 })).toThrow(/lr must be >= 0, got -1/);
    expect(() => new SGD(p(), { lr: 0.1, momentum: -0.5 })).toThrow(/momentum must be >= 0/);
    expect(() => new SGD(p(), { lr: 0.1, weightDecay: -1 })).toThrow(/weightDecay must be >= 0/);
    expect(() => new SGD(p(), { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0 and dampening 0/);
    expect(() => new SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(ConfigError);
  });
});
