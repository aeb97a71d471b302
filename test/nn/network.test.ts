// The whole small network of test/fixtures/network.json.gz (scripts/oracle/gen_optim.py):
// Conv2d-ReLU-MaxPool2d-Flatten-Linear built from its spec, forward, loss, every gradient, then
// 3 SGD(momentum) and 3 Adam steps; the same again on ../shared/oracle/network.json when present.
import { describe, expect, it } from 'vitest';
import { CrossEntropyLoss } from '../../src/nn/loss.ts';
import { buildModel } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { Softmax } from '../../src/nn/softmax.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { expectClose, hasSharedOracle, loadNetworkFixture, loadSharedOracle, tensorOf, type NetworkCase, type NetworkStep } from './helpers.ts';

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** PyTorch argument names (in_channels) to our spec keys (inChannels). */
function toSpec(layer: Record<string, unknown>): LayerSpec {
  return Object.fromEntries(Object.entries(layer).map(([k, v]) => [camel(k), v])) as LayerSpec;
}

function build(c: NetworkCase): Sequential {
  const model = buildModel(c.architecture.map(toSpec));
  const named = model.namedParameters();
  expect(named.map((p) => p.key)).toEqual(c.param_order);
  for (const p of named) {
    expect(p.value.shape).toEqual(c.params_initial[p.key].shape);
    p.value.data.set(c.params_initial[p.key].data);
  }
  return model;
}

/** The oracle tests for one network case; `load` runs inside each test, so a bad file fails only these. */
function networkTests(label: string, load: () => NetworkCase): void {
  it(`${label}: the documented architecture`, () => {
    expect(load().architecture.map((l) => l.type)).toEqual(['Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
  });

  it(`${label}: forward activations, logits, probs and loss`, () => {
    const c = load(), tol = c.tolerance;
    const model = build(c);
    const trace = model.forwardTrace(tensorOf(c.input));
    expectClose(trace[0].data, c.activations.conv_output, tol, 'conv_output', trace[0].shape);
    expectClose(trace[2].data, c.activations.pool_output, tol, 'pool_output', trace[2].shape);
    const logits = trace[4];
    expectClose(logits.data, c.logits, tol, 'logits', logits.shape);
    const probs = new Softmax(1).forward(logits);
    expectClose(probs.data, c.probs, tol, 'probs', probs.shape);
    const loss = new CrossEntropyLoss().forward(logits, c.target);
    expectClose([loss], [c.loss], tol, 'loss');
  });

  it(`${label}: gradients of the loss for the input and every parameter`, () => {
    const c = load(), tol = c.tolerance;
    const model = build(c);
    const lossFn = new CrossEntropyLoss();
    model.zeroGrad();
    lossFn.forward(model.forward(tensorOf(c.input)), c.target);
    const dinput = model.backward(lossFn.backward());
    expectClose(dinput.data, c.grads.input, tol, 'grad input', dinput.shape);
    for (const p of model.namedParameters()) expectClose(p.grad.data, c.grads[p.key], tol, `grad ${p.key}`, p.grad.shape);
  });

  const runs: [string, (c: NetworkCase) => NetworkStep[], (c: NetworkCase, m: Sequential) => Optimizer][] = [
    ['SGD(momentum)', (c) => c.sgd.steps, (c, m) => new SGD(m.parameters(), {
      lr: c.sgd.config.lr as number,
      momentum: c.sgd.config.momentum as number,
      dampening: c.sgd.config.dampening as number,
      weightDecay: c.sgd.config.weight_decay as number,
      nesterov: c.sgd.config.nesterov as boolean,
    })],
    ['Adam', (c) => c.adam.steps, (c, m) => new Adam(m.parameters(), {
      lr: c.adam.config.lr as number,
      betas: c.adam.config.betas as [number, number],
      eps: c.adam.config.eps as number,
      weightDecay: c.adam.config.weight_decay as number,
      amsgrad: c.adam.config.amsgrad as boolean,
    })],
  ];
  for (const [name, stepsOf, makeOpt] of runs) {
    it(`${label}: ${name} steps (loss, gradients and parameters after each)`, () => {
      const c = load(), tol = c.tolerance, steps = stepsOf(c);
      expect(steps.length).toBeGreaterThanOrEqual(2); // momentum and Adam's moments only show from step 2
      const model = build(c);
      const opt = makeOpt(c, model);
      const lossFn = new CrossEntropyLoss();
      const x = tensorOf(c.input);
      steps.forEach((s, i) => {
        opt.zeroGrad();
        const loss = lossFn.forward(model.forward(x), c.target);
        expectClose([loss], [s.loss_before_step], tol, `${name} step ${i + 1} loss`);
        model.backward(lossFn.backward());
        for (const p of model.namedParameters()) expectClose(p.grad.data, s.grads[p.key], tol, `${name} step ${i + 1} grad ${p.key}`);
        opt.step();
        for (const p of model.namedParameters()) {
          expectClose(p.value.data, s.params_after_step[p.key], tol, `${name} step ${i + 1} ${p.key} after step`);
        }
      });
    });
  }
}

describe('network oracle (test/fixtures/network.json.gz)', () => {
  networkTests('fixture', loadNetworkFixture);

  it('a model built from the specs reports the same specs back (camelCase, normalized pairs)', () => {
    const model = build(loadNetworkFixture());
    expect(model.spec().layers).toEqual([
      { type: 'Conv2d', inChannels: 1, outChannels: 4, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
      { type: 'ReLU' },
      { type: 'MaxPool2d', kernelSize: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
      { type: 'Flatten', startDim: 1, endDim: -1 },
      { type: 'Linear', inFeatures: 784, outFeatures: 10, bias: true },
    ]);
    expect(model.outputShape([4, 1, 28, 28])).toEqual([4, 10]);
  });
});

describe.skipIf(!hasSharedOracle('network.json'))('shared oracle (optional, ../shared/oracle/network.json)', () => {
  let shared: NetworkCase | undefined;
  networkTests('shared', () => (shared ??= loadSharedOracle<NetworkCase>('network.json')[0]));
});
