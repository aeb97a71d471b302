import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/engine/errors.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/engine/rng.ts';
import { parseArch } from '../../src/nn/arch.ts';
import { mlpSpecs } from '../../src/nn/models.ts';
import { buildModel } from '../../src/nn/models.ts';
import { summarize } from '../../src/nn/summary.ts';
import { explain, softmax } from '../../src/report/activations.ts';
import { buildFromSpecs, loadCnn, loadTrace, testImage } from './helpers.ts';

/** allclose, naming the worst element; a NaN or infinite value counts as a failure, never a pass. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (at < 0 || !(excess <= worst))) (worst = excess), (at = i);
  }
  expect(at, `${what}: value ${at} is ${actual[at]}, PyTorch says ${expected[at]}`).toBe(-1);
}

describe('explain on the PyTorch-trained CNN fixture', () => {
  // loaded in beforeAll, so a missing fixture fails these tests, not the file's collection
  let model: ReturnType<typeof loadCnn>['model'], file: ReturnType<typeof loadCnn>['file'];
  let trace: ReturnType<typeof loadTrace>['cases'][number], x: Tensor, label: number, ex: ReturnType<typeof explain>;
  beforeAll(() => {
    ({ model, file } = loadCnn());
    trace = loadTrace().cases[0];
    ({ x, label } = testImage(trace.testIndex, file.input.mean, file.input.std));
    ex = explain(model, x);
  });

  it('gives every layer output PyTorch computes for the same weights and image', () => {
    expect(label).toBe(trace.label);
    expect(ex.layers.map((l) => l.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    ex.layers.forEach((l, i) => {
      expect(l.outputShape, `layer ${i} shape`).toEqual(trace.layers[i].shape);
      // the oracle is rounded to 6 significant digits
      expectClose(l.values, trace.layers[i].data, 2e-5, 2e-5, `layer ${i} (${l.type})`);
    });
    expectClose(ex.probs, trace.probs.data, 1e-6, 1e-4, 'probabilities');
    expect(ex.predicted).toBe(trace.predicted);
    expect(ex.logits).toEqual(ex.layers[7].values);
    expect(ex.input.shape).toEqual([1, 28, 28]);
    expect(ex.input.values).toEqual(x.data);
  });

  it('names layers as --summary does and counts their parameters', () => {
    expect(ex.layers.map((l) => l.name)).toEqual(summarize(model, [1, 28, 28]).rows.map((r) => r.name));
    expect(ex.layers[0].name).toMatch(/^Conv2d\(1, 8, kernel_size=/);
    expect(ex.layers[7].name).toMatch(/^Linear\(in_features=784, out_features=10\b/);
    expect(ex.layers.map((l) => l.params)).toEqual([80, 0, 0, 1168, 0, 0, 0, 7850]);
  });

  it('returns the first conv layer kernels and no MLP templates', () => {
    expect(ex.kernels?.layerIndex).toBe(0);
    expect(ex.kernels?.shape).toEqual([8, 1, 3, 3]);
    expect(Array.from(ex.kernels!.values)).toEqual(file.state['0.weight'].data.map(Math.fround));
    expect(ex.templates).toBeUndefined();
  });

  it('copies the outputs (a later forward does not change them) and restores training mode', () => {
    const before = ex.layers[0].values.slice();
    model.train();
    explain(model, testImage(1).x);
    expect(model.training).toBe(true);
    expect(model.layers.every((l) => l.training)).toBe(true);
    expect(ex.layers[0].values).toEqual(before);
  });

  it('rejects a batch of more than one image', () => {
    expect(() => explain(model, Tensor.zeros([2, 1, 28, 28]))).toThrow(ShapeError);
    expect(() => explain(model, Tensor.zeros([2, 1, 28, 28]))).toThrow(/explain: input must be one image \[1, C, H, W\], but got \[2, 1, 28, 28\]/);
  });
});

describe('explain on an MLP', () => {
  it('shows the first Linear weights as one 28x28 template per hidden unit', () => {
    const model = buildFromSpecs(mlpSpecs([32, 16]));
    const ex = explain(model, testImage(0).x);
    expect(ex.layers.map((l) => l.outputShape)).toEqual([[784], [32], [32], [16], [16], [10]]);
    expect(ex.kernels).toBeUndefined();
    expect(ex.templates?.layerIndex).toBe(1);
    expect(ex.templates?.shape).toEqual([32, 1, 28, 28]);
    const w = (model.layers[1].parameters()[0]).value;
    expect(ex.templates?.values).toEqual(w.data);
    // hand check of the first hidden unit: w[0] · x + b[0], then ReLU
    const b = model.layers[1].parameters()[1].value.data;
    let z = b[0];
    for (let i = 0; i < 784; i++) z += w.data[i] * ex.input.values[i];
    expect(ex.layers[1].values[0]).toBeCloseTo(z, 4);
    expect(ex.layers[2].values[0]).toBeCloseTo(Math.max(0, z), 4);
  });
});

describe('the comparison itself', () => {
  it('fails on NaN, infinite or far-off values and passes on close ones', () => {
    expect(() => expectClose([NaN, 1], [0.5, 1], 1e-6, 1e-4, 'nan')).toThrow(/value 0 is NaN/);
    expect(() => expectClose([1, Infinity], [1, 2], 1e-6, 1e-4, 'inf')).toThrow(/value 1 is Infinity/);
    expect(() => expectClose([1, 2.1], [1, 2], 1e-6, 1e-4, 'off')).toThrow(/value 1 is 2.1/);
    expectClose([1, 2.0001], [1, 2], 1e-6, 1e-4, 'close');
  });
});

describe('explain on a model that ends in Softmax', () => {
  it('takes the logits from the layer before and the probabilities from the Softmax', () => {
    const model = buildModel([...mlpSpecs([8]), { type: 'Softmax', dim: 1 }]);
    const ex = explain(model, testImage(0).x);
    expect(ex.layers).toHaveLength(5);
    expect(ex.logits).toEqual(ex.layers[3].values);
    expect(ex.probs).toEqual(ex.layers[4].values);
    expectClose(ex.probs, softmax(ex.logits), 1e-7, 1e-5, 'probabilities');
  });
});

describe('explain on the layers added as descriptors', () => {
  it('traces AvgPool2d, LeakyReLU, Tanh and Sigmoid with their PyTorch names and shapes', () => {
    const model = buildModel(parseArch('conv(4,3,padding=1) leakyrelu(0.1) avgpool(3,stride=2,padding=1,ceil=true) tanh avgpool(2) sigmoid flatten linear(10)'), new Rng(1));
    const x = testImage(0).x;
    const ex = explain(model, x);
    expect(ex.layers.map((l) => l.name)).toEqual([
      'Conv2d(1, 4, kernel_size=3, padding=1)', 'LeakyReLU(negative_slope=0.1)', 'AvgPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True)',
      'Tanh()', 'AvgPool2d(kernel_size=2, stride=2)', 'Sigmoid()', 'Flatten()', 'Linear(in_features=196, out_features=10)',
    ]);
    expect(ex.layers.map((l) => l.outputShape)).toEqual([[4, 28, 28], [4, 28, 28], [4, 15, 15], [4, 15, 15], [4, 7, 7], [4, 7, 7], [196], [10]]);
    // the sigmoid's outputs are in (0, 1), the tanh's in (-1, 1)
    expect(Math.min(...ex.layers[5].values)).toBeGreaterThan(0);
    expect(Math.max(...ex.layers[3].values.map(Math.abs))).toBeLessThan(1);
    expect(ex.logits).toEqual(model.eval().forward(x).data);
  });
});

describe('softmax', () => {
  it('matches the hand-worked values and stays finite for huge logits', () => {
    const p = softmax([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 7);
    expect(p[1]).toBeCloseTo(0.75, 7);
    const q = softmax([1000, 0, -1000]);
    expect(Array.from(q)).toEqual([1, 0, 0]);
    const rng = new Rng(3);
    const r = softmax(Array.from({ length: 10 }, () => rng.uniform(-5, 5)));
    expect(r.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
  });
});
