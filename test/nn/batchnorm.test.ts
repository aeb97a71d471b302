// BatchNorm2d / BatchNorm1d: hand-worked statistics, the PyTorch oracle
// (test/fixtures/batchnorm_extra.json: train and eval forward/backward, running statistics,
// several SGD steps), gradient checks, the state dict under PyTorch's keys, --arch, bad shapes.
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/engine/errors.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Tensor } from '../../src/engine/tensor.ts';
import { formatArch, parseArch } from '../../src/nn/arch.ts';
import { BatchNorm, type BatchNormSpec } from '../../src/nn/batchnorm.ts';
import { buildModel } from '../../src/nn/models.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { readWeights, stateDict } from '../../src/weights/checkpoint.ts';
import { expectClose, gradCheck, loadFixture, randomTensor, tensorOf } from './helpers.ts';

const bn2 = (c: number, o: Partial<BatchNormSpec> = {}) => new BatchNorm({ type: 'BatchNorm2d', numFeatures: c, ...o });
const bn1 = (c: number, o: Partial<BatchNormSpec> = {}) => new BatchNorm({ type: 'BatchNorm1d', numFeatures: c, ...o });

describe('BatchNorm hand-worked', () => {
  it('normalises each channel by its batch mean and biased variance in train(), updating the running ones (unbiased)', () => {
    // channel 0 holds 1, 3 (mean 2, biased var 1), channel 1 holds 10, 14 (mean 12, var 4), over N = 2
    const m = bn1(2, { eps: 0 });
    const y = m.forward(Tensor.from([2, 2], [1, 10, 3, 14]));
    expect([...y.data]).toEqual([-1, -1, 1, 1]);
    // running: 0.9·0 + 0.1·mean; 0.9·1 + 0.1·unbiased var (2 and 8: n/(n-1) = 2 times the biased one)
    expect([...m.runningMean!.data]).toEqual([Math.fround(0.2), Math.fround(1.2)]);
    expect([...m.runningVar!.data]).toEqual([Math.fround(0.9 + 0.1 * 2), Math.fround(0.9 + 0.1 * 8)]);
    expect(m.numBatchesTracked!.data[0]).toBe(1);
  });

  it('uses the running statistics in eval(), and weight/bias scale and shift the result', () => {
    const m = bn2(1, { eps: 0 });
    m.runningMean!.data[0] = 2;
    m.runningVar!.data[0] = 4;
    m.weight!.value.data[0] = 3;
    m.bias!.value.data[0] = 1;
    m.eval();
    // (x - 2) / 2 · 3 + 1
    expect([...m.forward(Tensor.from([1, 1, 1, 3], [2, 4, 0])).data]).toEqual([1, 4, -2]);
    expect(m.numBatchesTracked!.data[0]).toBe(0);
  });

  it('spec, parameters and buffers follow PyTorch (weight 1, bias 0, running_var 1)', () => {
    const m = bn2(3);
    expect(m.spec()).toEqual({ type: 'BatchNorm2d', numFeatures: 3, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true });
    expect(m.parameters().map((p) => [p.name, [...p.value.data]])).toEqual([['weight', [1, 1, 1]], ['bias', [0, 0, 0]]]);
    expect(m.buffers().map((b) => [b.name, b.value.shape])).toEqual([['running_mean', [3]], ['running_var', [3]], ['num_batches_tracked', []]]);
    expect(bn2(3, { affine: false, trackRunningStats: false }).parameters()).toEqual([]);
    expect(bn2(3, { trackRunningStats: false }).buffers()).toEqual([]);
  });
});

interface BnTensor { shape: number[]; data: number[] }
interface BnCase {
  name: string;
  op: 'batchnorm2d' | 'batchnorm1d';
  config: { num_features: number; eps: number; momentum: number; affine: boolean; track_running_stats: boolean };
  state: Record<string, BnTensor>;
  input: BnTensor;
  train: { output: BnTensor; grad_output: BnTensor; grads: Record<string, BnTensor>; running_mean?: BnTensor; running_var?: BnTensor; num_batches_tracked?: number };
  eval: { input: BnTensor; output: BnTensor; grad_output: BnTensor; grads: { input: BnTensor } };
  lr: number;
  steps: { input: BnTensor; grad_output: BnTensor; output: BnTensor; after: Record<string, BnTensor> }[];
  tolerance: { rtol: number; atol: number };
}

describe('BatchNorm against PyTorch', () => {
  const cases = loadFixture<BnCase>('batchnorm_extra.json');
  it('fixture has its 6 cases', () => expect(cases).toHaveLength(6));
  for (const c of cases) {
    it(`oracle ${c.name}: train and eval forward/backward, running statistics, ${c.steps.length} SGD steps`, () => {
      const cfg = c.config;
      const m = new BatchNorm({
        type: c.op === 'batchnorm2d' ? 'BatchNorm2d' : 'BatchNorm1d', numFeatures: cfg.num_features,
        eps: cfg.eps, momentum: cfg.momentum, affine: cfg.affine, trackRunningStats: cfg.track_running_stats,
      });
      const tensors = () => Object.fromEntries([...m.parameters(), ...m.buffers()].map((p) => [p.name, p.value]));
      for (const [k, v] of Object.entries(c.state)) tensors()[k].data.set(v.data);
      const tol = c.tolerance;
      m.train();
      const y = m.forward(tensorOf(c.input));
      expectClose(y.data, c.train.output, tol, 'train output', y.shape);
      const dx = m.backward(tensorOf(c.train.grad_output));
      expectClose(dx.data, c.train.grads.input, tol, 'train grad input', dx.shape);
      if (cfg.affine) {
        expectClose(m.weight!.grad.data, c.train.grads.weight, tol, 'grad weight');
        expectClose(m.bias!.grad.data, c.train.grads.bias, tol, 'grad bias');
      }
      if (cfg.track_running_stats) {
        expectClose(m.runningMean!.data, c.train.running_mean!, tol, 'running_mean');
        expectClose(m.runningVar!.data, c.train.running_var!, tol, 'running_var');
        expect(m.numBatchesTracked!.data[0]).toBe(c.train.num_batches_tracked);
      }
      m.eval();
      const ye = m.forward(tensorOf(c.eval.input));
      expectClose(ye.data, c.eval.output, tol, 'eval output', ye.shape);
      expectClose(m.backward(tensorOf(c.eval.grad_output)).data, c.eval.grads.input, tol, 'eval grad input');
      m.train();
      const opt = new SGD(m.parameters(), { lr: c.lr, momentum: 0 });
      c.steps.forEach((s, i) => {
        opt.zeroGrad();
        const ys = m.forward(tensorOf(s.input));
        expectClose(ys.data, s.output, tol, `step ${i + 1} output`);
        m.backward(tensorOf(s.grad_output));
        if (cfg.affine) opt.step();
        for (const [k, v] of Object.entries(s.after)) expectClose(tensors()[k].data, v, tol, `step ${i + 1} ${k}`);
      });
      if (cfg.track_running_stats) expect(m.numBatchesTracked!.data[0]).toBe(1 + c.steps.length);
    });
  }
});

describe('BatchNorm gradients', () => {
  it.each([
    ['2d, train', () => bn2(3), [4, 3, 3, 2]],
    ['1d, train, no affine', () => bn1(4, { affine: false }), [5, 4]],
    ['2d, eval', () => bn2(2).eval(), [2, 2, 2, 2]],
  ] as const)('match central differences (%s)', (_, make, shape) => {
    const m = make();
    const rng = new Rng(11);
    if (m.weight) for (let i = 0; i < m.weight.value.size; i++) m.weight.value.data[i] = rng.uniform(0.5, 1.5);
    if (m.training) m.updatesRunningStats = false; // the loss is re-evaluated many times
    gradCheck(m, randomTensor(shape, rng, -2, 2), { eps: 1e-2, tol: { rtol: 2e-2, atol: 2e-3 } });
  });
});

describe('BatchNorm in models and files', () => {
  it('--arch batchnorm and batchnorm1d infer their sizes and print back', () => {
    const arch = 'conv(4,3) batchnorm relu maxpool(2) flatten linear(16) batchnorm1d(momentum=0.2) relu linear(10)';
    const specs = parseArch(arch);
    expect(specs[1]).toEqual({ type: 'BatchNorm2d', numFeatures: 4, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true });
    expect(specs[6]).toMatchObject({ type: 'BatchNorm1d', numFeatures: 16, momentum: 0.2 });
    expect(formatArch(specs)).toBe(arch);
  });

  it('refuses batchnorm on a flat input and batchnorm1d on an image, with a hint', () => {
    expect(() => parseArch('flatten batchnorm linear(10)')).toThrow(/batchnorm needs an image input \[C, H, W\]/);
    expect(() => parseArch('conv(4,3) batchnorm1d flatten linear(10)')).toThrow(/a flatten is missing before batchnorm1d/);
    expect(() => bn2(3).forward(Tensor.zeros([2, 4, 2, 2]))).toThrow(ShapeError);
    expect(() => bn1(3).forward(Tensor.zeros([2, 3, 2, 2]))).toThrow(ShapeError);
    expect(() => bn1(3).forward(Tensor.zeros([1, 3]))).toThrow(/more than 1 value per channel/);
    expect(() => bn2(0)).toThrow(ConfigError);
    expect(() => bn2(2, { momentum: 2 })).toThrow(ConfigError);
    expect(() => bn2(2).backward(Tensor.zeros([1, 2, 1, 1]))).toThrow(/backward called before forward/);
  });

  it('saves weight, bias, running_mean, running_var, num_batches_tracked under PyTorch\'s keys and reads them back', () => {
    const model = buildModel(parseArch('conv(2,3) batchnorm relu flatten linear(10)'));
    model.train();
    model.forward(randomTensor([4, 1, 28, 28], new Rng(3)));
    const sd = stateDict(model);
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '4.weight', '4.bias']);
    expect(sd['1.num_batches_tracked']).toEqual({ shape: [], data: [1] });
    const doc = {
      format: 'mnist-ts-weights', version: 1, model: { name: 'arch', layers: model.spec().layers }, input: { shape: [1, 28, 28], mean: 0.1307, std: 0.3081 },
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], state: sd,
    };
    const { model: back } = readWeights(JSON.stringify(doc));
    const bn = back.layers[1] as BatchNorm;
    expect([...bn.runningMean!.data]).toEqual([...(model.layers[1] as BatchNorm).runningMean!.data]);
    expect(bn.numBatchesTracked!.data[0]).toBe(1);
    const missing = { ...doc, state: { ...sd } } as typeof doc;
    delete (missing.state as Record<string, unknown>)['1.running_var'];
    expect(() => readWeights(JSON.stringify(missing))).toThrow(/state\["1\.running_var"\]: missing/);
  });
});
