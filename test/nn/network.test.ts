// The whole small network of ../shared/oracle/network.json: Conv2d-ReLU-MaxPool2d-Flatten-Linear
// built from its spec, forward, loss, every gradient, then 3 SGD(momentum) and 3 Adam steps.
import { describe, expect, it } from 'vitest';
import { CrossEntropyLoss } from '../../src/nn/loss.ts';
import { buildModel } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { Softmax } from '../../src/nn/softmax.ts';
import { Adam } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { expectClose, loadOracle, tensorOf, type T, type Tol } from './helpers.ts';

interface Step {
  loss_before_step: number;
  grads: Record<string, T>;
  params_after_step: Record<string, T>;
}
interface NetworkCase {
  name: string;
  architecture: Record<string, unknown>[];
  param_order: string[];
  input: T;
  target: number[];
  params_initial: Record<string, T>;
  activations: { conv_output: T; pool_output: T };
  logits: T;
  probs: T;
  loss: number;
  grads: Record<string, T>;
  sgd: { config: Record<string, number | boolean>; steps: Step[] };
  adam: { config: Record<string, unknown>; steps: Step[] };
  tolerance: Tol;
}

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

const cases = loadOracle<NetworkCase>('network.json');

describe('network oracle', () => {
  it('holds one case with the documented architecture', () => {
    expect(cases).toHaveLength(1);
    expect(cases[0].architecture.map((l) => l.type)).toEqual(['Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear']);
  });

  for (const c of cases) {
    const tol = c.tolerance;

    it(`${c.name}: forward activations, logits, probs and loss`, () => {
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

    it(`${c.name}: gradients of the loss for the input and every parameter`, () => {
      const model = build(c);
      const lossFn = new CrossEntropyLoss();
      model.zeroGrad();
      lossFn.forward(model.forward(tensorOf(c.input)), c.target);
      const dinput = model.backward(lossFn.backward());
      expectClose(dinput.data, c.grads.input, tol, 'grad input', dinput.shape);
      for (const p of model.namedParameters()) expectClose(p.grad.data, c.grads[p.key], tol, `grad ${p.key}`, p.grad.shape);
    });

    const runs: [string, Step[], (m: Sequential) => Optimizer][] = [
      ['SGD(momentum)', c.sgd.steps, (m) => new SGD(m.parameters(), {
        lr: c.sgd.config.lr as number,
        momentum: c.sgd.config.momentum as number,
        dampening: c.sgd.config.dampening as number,
        weightDecay: c.sgd.config.weight_decay as number,
        nesterov: c.sgd.config.nesterov as boolean,
      })],
      ['Adam', c.adam.steps, (m) => new Adam(m.parameters(), {
        lr: c.adam.config.lr as number,
        betas: c.adam.config.betas as [number, number],
        eps: c.adam.config.eps as number,
        weightDecay: c.adam.config.weight_decay as number,
        amsgrad: c.adam.config.amsgrad as boolean,
      })],
    ];
    for (const [name, steps, makeOpt] of runs) {
      it(`${c.name}: ${steps.length} ${name} steps`, () => {
        expect(steps).toHaveLength(3);
        const model = build(c);
        const opt = makeOpt(model);
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

  it('a model built from the specs reports the same specs back (camelCase, normalized pairs)', () => {
    const model = build(cases[0]);
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
