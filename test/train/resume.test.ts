// Resume state: optimizer buffers and RNG states round-trip exactly through the weights file's
// JSON, and a fit stopped mid-epoch and resumed from that JSON ends bit-identical to one that
// never stopped (SGD with momentum, Adam, dropout drawing from the global RNG).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import type { AugmentMode } from '../../src/data/augment.ts';
import { Batcher } from '../../src/data/batches.ts';
import { defaultRng, manualSeed } from '../../src/nn/init.ts';
import { buildModel } from '../../src/nn/models.ts';
import type { LayerSpec } from '../../src/nn/module.ts';
import type { Sequential } from '../../src/nn/sequential.ts';
import { Adam, AdamW } from '../../src/optim/adam.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { StepLR } from '../../src/optim/schedule.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { CheckpointError, stateDict, type TensorJson } from '../../src/weights/checkpoint.ts';
import { captureResume, restoreOptimizer, validateResume, type ResumeState } from '../../src/weights/resume.ts';
import { fit, type FitResult } from '../../src/train/train.ts';

const SPECS: LayerSpec[] = [
  { type: 'Flatten', startDim: 1, endDim: -1 },
  { type: 'Linear', inFeatures: 64, outFeatures: 16, bias: true },
  { type: 'ReLU' },
  { type: 'Dropout', p: 0.25 },
  { type: 'Linear', inFeatures: 16, outFeatures: 10, bias: true },
];

// 300 random 8x8 "images" with labels tied to their brightness, so training makes progress.
function split(count: number, seed: number) {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * 64);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = rng.int(10);
    for (let p = 0; p < 64; p++) images[i * 64 + p] = Math.min(255, labels[i] * 20 + rng.int(60));
  }
  return { images, labels, count, rows: 8, cols: 8 };
}

const TRAIN = split(300, 1), TEST = split(50, 2);
const norm = { mean: 0.4, std: 0.3 };
const params = (m: Sequential) => m.namedParameters();

type Kind = 'sgd' | 'adam' | 'adamw';
function makeOptimizer(kind: Kind, m: Sequential): Optimizer {
  if (kind === 'sgd') return new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  if (kind === 'adamw') return new AdamW(m.parameters(), { lr: 3e-3 });
  return new Adam(m.parameters(), { lr: 3e-3 });
}

/** A fresh run: model, optimizer, schedule and RNGs as mnist-train makes them. */
const BN_SPECS: LayerSpec[] = [
  { type: 'BatchNorm2d', numFeatures: 1 },
  { type: 'Flatten', startDim: 1, endDim: -1 },
  { type: 'Linear', inFeatures: 64, outFeatures: 16, bias: true },
  { type: 'BatchNorm1d', numFeatures: 16 },
  { type: 'ReLU' },
  { type: 'Linear', inFeatures: 16, outFeatures: 10, bias: true },
];

function setup(kind: Kind, specs = SPECS) {
  manualSeed(7);
  const model = buildModel(specs);
  const optimizer = makeOptimizer(kind, model);
  const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.7 });
  const shuffle = new Rng(8);
  return { model, optimizer, scheduler, shuffle };
}

function run(s: ReturnType<typeof setup>, epochs: number, extra: Partial<Parameters<typeof fit>[0]> = {}, augment: AugmentMode = 'none'): Promise<FitResult> {
  return fit({
    model: s.model, optimizer: s.optimizer, scheduler: s.scheduler, rng: s.shuffle, epochs,
    train: new Batcher(TRAIN, { batchSize: 32, ...norm, augment }), test: new Batcher(TEST, { batchSize: 50, ...norm }),
    ...extra,
  });
}

/** What mnist-train writes: weights and resume state, through JSON text. */
function save(s: ReturnType<typeof setup>, r: FitResult): string {
  const resume = captureResume({
    epoch: r.epoch, epochs: 3, batches: 10, optimizer: s.optimizer, params: params(s.model),
    scheduler: s.scheduler, initRng: defaultRng(), shuffleState: r.position?.shuffleState ?? s.shuffle.getState(),
    position: r.position && { batchesDone: r.position.batchesDone, lossSum: r.position.lossSum, correct: r.position.correct, samples: r.position.samples, seconds: r.position.seconds },
  });
  return JSON.stringify({ state: stateDict(s.model), resume });
}

function restore(kind: Kind, text: string, specs = SPECS) {
  const doc = JSON.parse(text);
  const s = setup(kind, specs);
  manualSeed(999); // the resumed process starts from an unrelated RNG state
  const shapes = params(s.model).map((p) => ({ key: p.key, shape: [...p.value.shape] }));
  const r: ResumeState = validateResume(doc.resume, 'resume', shapes);
  // the live model takes the stored values: this run's optimizer already holds its parameters
  for (const p of [...s.model.namedParameters(), ...s.model.namedBuffers()]) p.value.data.set((doc.state as Record<string, TensorJson>)[p.key].data);
  restoreOptimizer(s.optimizer, r, params(s.model));
  s.scheduler.loadState(r.scheduler!);
  defaultRng().setState(r.rng.init);
  s.shuffle.setState(r.rng.shuffle);
  return { s, r };
}

const weightsOf = (m: Sequential) => params(m).map((p) => Array.from(p.value.data));

describe('resume inside fit', () => {
  it.each(['sgd', 'adam', 'adamw'] as const)('%s: stopped at epoch 2 batch 4, saved as JSON and resumed, ends bit-identical to a straight run', async (kind) => {
    const straight = setup(kind);
    const full = await run(straight, 3);

    const first = setup(kind);
    let steps = 0;
    const stopped = await run(first, 3, { shouldStop: () => ++steps === 15 }); // 10 batches + the end-of-epoch poll, then 4
    expect(stopped).toMatchObject({ stopped: true, epoch: 1, position: { batchesDone: 4, batches: 10 } });

    const { s, r } = restore(kind, save(first, stopped));
    const rest = await run(s, 3, { startEpoch: r.epoch, resumeAt: r.position });
    expect(rest.epoch).toBe(3);
    expect(weightsOf(s.model)).toEqual(weightsOf(straight.model));
    expect(s.optimizer.state()).toEqual(straight.optimizer.state());
    // the resumed epoch's metrics continue its running sums exactly
    expect(rest.metrics.map((m) => m.trainLoss)).toEqual(full.metrics.slice(1).map((m) => m.trainLoss));
    expect(rest.metrics.map((m) => m.testAccuracy)).toEqual(full.metrics.slice(1).map((m) => m.testAccuracy));
  });

  it.each(['shift', 'elastic'] as const)('with --augment %s: stopped mid-epoch and resumed, ends bit-identical to a straight run', async (augment) => {
    const straight = setup('adam');
    const full = await run(straight, 3, {}, augment);
    const plain = setup('adam');
    await run(plain, 3);
    // the augmentation took effect: other images, other weights
    expect(weightsOf(straight.model)).not.toEqual(weightsOf(plain.model));

    const first = setup('adam');
    let steps = 0;
    const stopped = await run(first, 3, { shouldStop: () => ++steps === 17 }, augment); // epoch 2, batch 6
    expect(stopped).toMatchObject({ stopped: true, epoch: 1, position: { batchesDone: 6 } });
    const { s, r } = restore('adam', save(first, stopped));
    const rest = await run(s, 3, { startEpoch: r.epoch, resumeAt: r.position }, augment);
    expect(weightsOf(s.model)).toEqual(weightsOf(straight.model));
    expect(rest.metrics.map((m) => m.trainLoss)).toEqual(full.metrics.slice(1).map((m) => m.trainLoss));
  });

  it('with batch normalisation and --augment affine: stopped mid-epoch and resumed, weights and running statistics bit-identical', async () => {
    const stats = (m: Sequential) => m.namedBuffers().map((b) => [b.key, Array.from(b.value.data)]);
    const straight = setup('adam', BN_SPECS);
    await run(straight, 3, {}, 'affine');
    const first = setup('adam', BN_SPECS);
    let steps = 0;
    const stopped = await run(first, 3, { shouldStop: () => ++steps === 14 }, 'affine');
    expect(stopped).toMatchObject({ stopped: true, epoch: 1, position: { batchesDone: 3 } });
    const text = save(first, stopped);
    expect(Object.keys(JSON.parse(text).state)).toContain('3.num_batches_tracked');
    const { s, r } = restore('adam', text, BN_SPECS);
    expect(stats(s.model)).toEqual(stats(first.model));
    await run(s, 3, { startEpoch: r.epoch, resumeAt: r.position }, 'affine');
    expect(weightsOf(s.model)).toEqual(weightsOf(straight.model));
    expect(stats(s.model)).toEqual(stats(straight.model));
    expect((s.model.namedBuffers().find((b) => b.key === '0.num_batches_tracked')!.value.data[0])).toBe(30);
  });

  it('resumes at an epoch boundary (no position) just as exactly', async () => {
    const straight = setup('adam');
    await run(straight, 3);
    const first = setup('adam');
    const two = await run(first, 2);
    expect(two.position).toBeUndefined();
    const { s, r } = restore('adam', save(first, two));
    expect(r.position).toBeUndefined();
    await run(s, 3, { startEpoch: r.epoch });
    expect(weightsOf(s.model)).toEqual(weightsOf(straight.model));
  });
});

describe('captureResume / validateResume', () => {
  function sample(): { resume: ResumeState; shapes: { key: string; shape: number[] }[] } {
    const s = setup('adam');
    const x = new Batcher(TRAIN, { batchSize: 32, ...norm }).epoch(new Rng(1)).next().value!;
    s.optimizer.zeroGrad();
    s.model.forward(x.x);
    s.optimizer.step();
    const resume = captureResume({ epoch: 0, epochs: 3, batches: 10, optimizer: s.optimizer, params: params(s.model), initRng: defaultRng(), shuffleState: s.shuffle.getState() });
    return { resume: JSON.parse(JSON.stringify(resume)), shapes: params(s.model).map((p) => ({ key: p.key, shape: [...p.value.shape] })) };
  }

  it('stores RNG words unsigned and buffers by state_dict key', () => {
    const { resume } = sample();
    expect(Object.keys(resume.optimizer.buffers)).toEqual(['exp_avg', 'exp_avg_sq']);
    expect(Object.keys(resume.optimizer.buffers.exp_avg)).toEqual(['1.weight', '1.bias', '4.weight', '4.bias']);
    for (const w of [...resume.rng.init, ...resume.rng.shuffle]) expect(w >>> 0).toBe(w);
  });

  it.each<[string, (r: any) => void, RegExp]>([
    ['a negative epoch', (r) => (r.epoch = -1), /^resume\.epoch: expected an int 0\.\.1000000, found -1$/],
    ['an unknown optimizer', (r) => (r.optimizer.type = 'Evil'), /^resume\.optimizer\.type: expected one of SGD, Adam, AdamW, found "Evil"$/],
    ['a buffer of the wrong shape', (r) => (r.optimizer.buffers.exp_avg['1.bias'].shape = [17]), /^resume\.optimizer\.buffers\.exp_avg\["1\.bias"\]\.shape: expected \[16\]/],
    ['a short buffer', (r) => r.optimizer.buffers.exp_avg_sq['4.bias'].data.pop(), /exp_avg_sq\["4\.bias"\]\.data: expected 10 values for shape \[10\], found 9/],
    ['a string in a buffer', (r) => (r.optimizer.buffers.exp_avg['4.bias'].data[3] = '1'), /exp_avg\["4\.bias"\]\.data\[3\]: expected a finite number, found "1"/],
    ['a buffer for no parameter', (r) => (r.optimizer.buffers.exp_avg['9.weight'] = { shape: [1], data: [0] }), /exp_avg\["9\.weight"\]: no such parameter/],
    ['an RNG word out of range', (r) => (r.rng.init[2] = 2 ** 32), /^resume\.rng\.init\[2\]: expected an int 0\.\.4294967295/],
    ['a short RNG state', (r) => r.rng.shuffle.pop(), /^resume\.rng\.shuffle: expected a list of 4\.\.4 items/],
    ['batchesDone past the epoch', (r) => (r.position = { batchesDone: 11, lossSum: 1, correct: 1, samples: 2, seconds: 0 }), /^resume\.position\.batchesDone: expected an int 1\.\.10, found 11$/],
    ['more right than seen', (r) => (r.position = { batchesDone: 1, lossSum: 1, correct: 5, samples: 2, seconds: 0 }), /^resume\.position\.correct: expected an int 0\.\.2, found 5$/],
    ['an unknown field', (r) => (r.extra = 1), /^resume\.extra: unknown field/],
    ['a scheduler out of step with the epochs', (r) => (r.scheduler = { lastEpoch: 3 }), /^resume\.scheduler\.lastEpoch: expected 0 \(one step per completed epoch\), found 3$/],
    ['a scheduler out of step with the batches', (r) => ((r.position = { batchesDone: 2, lossSum: 1, correct: 1, samples: 2, seconds: 0 }), (r.scheduler = { lastEpoch: 5 })), /^resume\.scheduler\.lastEpoch: expected 0 \(one step per completed epoch\) or 2 \(one per batch trained\), found 5$/],
  ])('refuses %s, naming the field', (_, mutate, pattern) => {
    const { resume, shapes } = sample();
    expect(() => validateResume(resume, 'resume', shapes)).not.toThrow();
    mutate(resume);
    expect(() => validateResume(resume, 'resume', shapes)).toThrow(CheckpointError);
    expect(() => validateResume(resume, 'resume', shapes)).toThrow(pattern);
  });

  it('refuses state for another optimizer when restoring', () => {
    const { resume } = sample();
    const s = setup('sgd');
    expect(() => restoreOptimizer(s.optimizer, resume, params(s.model))).toThrow(/resume\.optimizer: .*Adam/);
  });
});
