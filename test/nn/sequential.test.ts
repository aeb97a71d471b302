// Sequential.inputGrad: training turns it off so the first layer with parameters skips dL/dinput;
// parameter gradients must not change, and the returned "gradient" must be visibly empty.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { manualSeed } from '../../src/nn/init.ts';
import { CrossEntropyLoss } from '../../src/nn/loss.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { NO_INPUT_GRAD, type LayerSpec } from '../../src/nn/module.ts';
import { randomTensor } from './helpers.ts';

function grads(specs: LayerSpec[], x: Tensor, y: Int32Array, inputGrad: boolean) {
  manualSeed(4);
  const model = buildModel(specs);
  model.inputGrad = inputGrad;
  const loss = new CrossEntropyLoss();
  loss.forward(model.forward(x), y);
  const dx = model.backward(loss.backward());
  return { model, dx, grads: model.parameters().map((p) => Array.from(p.grad.data)) };
}

describe('Sequential.inputGrad', () => {
  const cases: [string, LayerSpec[], number[]][] = [
    ['MLP (flatten, linear, relu, linear)', mlpSpecs([5], 12, 3), [4, 1, 3, 4]],
    ['CNN (conv first)', parseArch('conv(3,3,padding=1) relu maxpool(2) flatten linear(3)', [1, 4, 4], 3), [2, 1, 4, 4]],
  ];
  for (const [name, specs, shape] of cases) {
    it(`${name}: same parameter gradients without dL/dinput, and an empty result`, () => {
      const rng = new Rng(9);
      const x = randomTensor(shape, rng);
      const y = Int32Array.from({ length: shape[0] }, () => rng.int(3));
      const full = grads(specs, x, y, true);
      const skip = grads(specs, x, y, false);
      expect(full.dx.shape).toEqual(shape);
      expect(skip.dx).toBe(NO_INPUT_GRAD);
      expect(skip.dx.size).toBe(0);
      expect(skip.grads).toEqual(full.grads);
      // only the first layer with parameters skips its input gradient
      const flags = skip.model.layers.map((l) => l.inputGrad);
      const first = skip.model.layers.findIndex((l) => l.parameters().length > 0);
      flags.forEach((f, i) => expect(f).toBe(i !== first));
    });
  }

  it('turning it back on restores dL/dinput', () => {
    const specs = mlpSpecs([5], 12, 3);
    const rng = new Rng(2);
    const x = randomTensor([2, 12], rng);
    const y = Int32Array.from([0, 2]);
    const { model } = grads(specs, x, y, false);
    model.inputGrad = true;
    const loss = new CrossEntropyLoss();
    loss.forward(model.forward(x), y);
    expect(model.backward(loss.backward()).shape).toEqual([2, 12]);
  });
});
