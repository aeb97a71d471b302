// fit(): divergence stops training at once with the epoch and batch, before the epoch's
// checkpoint callback can see bad weights; onStep reports every optimisation step.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.ts';
import { Batcher } from '../../src/data/batches.ts';
import { manualSeed } from '../../src/nn/init.ts';
import { buildModel, mlpSpecs } from '../../src/nn/models.ts';
import { CosineAnnealingWarmRestarts, StepLR } from '../../src/optim/schedule.ts';
import { SGD } from '../../src/optim/sgd.ts';
import type { EpochRecord } from '../../src/weights/checkpoint.ts';
import { DivergenceError, fit, localStepper, type StepInfo, type Stepper } from '../../src/train/train.ts';

function split(count: number) {
  const rng = new Rng(3);
  const images = new Uint8Array(count * 16).map(() => rng.int(256));
  const labels = new Uint8Array(count).map(() => rng.int(10));
  return { images, labels, count, rows: 4, cols: 4 };
}

function setup(lr = 0.1) {
  manualSeed(1);
  const model = buildModel(mlpSpecs([8], 16, 10));
  const optimizer = new SGD(model.parameters(), { lr });
  const norm = { mean: 0.5, std: 0.25 };
  return { model, optimizer, train: new Batcher(split(40), { batchSize: 10, ...norm }), test: new Batcher(split(20), { batchSize: 20, ...norm }), rng: new Rng(2) };
}

describe('fit', () => {
  it('stops at the first NaN loss, naming epoch and batch, and never reports that epoch as done', async () => {
    const s = setup();
    const real = localStepper(s.model, s.optimizer);
    let calls = 0;
    // batch 3 of epoch 2 (the 7th step) produces NaN
    const stepper: Stepper = { step: (x, y) => (++calls === 7 ? { loss: NaN, correct: 0 } : real.step(x, y)) };
    const ends: EpochRecord[] = [];
    const err = await fit({ ...s, epochs: 3, stepper, onEpochEnd: (m) => void ends.push(m) }).catch((e) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect(err).toMatchObject({ epoch: 2, batch: 3 });
    expect(err.message).toBe('training diverged: loss is NaN at epoch 2, batch 3');
    expect(err.hint).toMatch(/lower the learning rate/);
    expect(ends.map((m) => m.epoch)).toEqual([1]);
  });

  it('diverges for real with a huge learning rate (Infinity or NaN), and checks the weights at the epoch end', async () => {
    const s = setup(1e30);
    const ends: EpochRecord[] = [];
    const err = await fit({ ...s, epochs: 3, onEpochEnd: (m) => void ends.push(m) }).catch((e) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect(Number.isFinite(err.loss)).toBe(false);
    expect(ends).toEqual([]);
  });

  it('refuses to end an epoch with non-finite weights even when every loss was finite', async () => {
    const s = setup();
    const real = localStepper(s.model, s.optimizer);
    let calls = 0;
    const stepper: Stepper = {
      step(x, y) {
        const r = real.step(x, y);
        if (++calls === 4) s.model.parameters()[0].value.data[5] = Infinity; // the last step of epoch 1
        return r;
      },
    };
    const err = await fit({ ...s, epochs: 2, stepper }).catch((e) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect(err.message).toBe('training diverged: the weights became NaN in epoch 1 (after batch 4)');
  });

  it('calls onStep after every step with that batch\'s loss and the lr in force', async () => {
    const s = setup();
    const steps: StepInfo[] = [];
    const r = await fit({ ...s, epochs: 2, onStep: (x) => void steps.push(x) });
    expect(steps.map((x) => `${x.epoch}.${x.batch}`)).toEqual(['1.1', '1.2', '1.3', '1.4', '2.1', '2.2', '2.3', '2.4']);
    expect(steps.every((x) => x.size === 10 && x.batches === 4 && x.lr === 0.1 && x.correct >= 0 && x.correct <= 10)).toBe(true);
    // the epoch's mean loss is the mean of its batch losses (equal batches)
    const mean = steps.slice(0, 4).reduce((a, x) => a + x.loss, 0) / 4;
    expect(r.metrics[0].trainLoss).toBeCloseTo(mean, 12);
  });

  it('steps a batch scheduler after every step and an epoch scheduler after every epoch', async () => {
    const s = setup();
    const perBatch = new CosineAnnealingWarmRestarts(s.optimizer, { t0: 4 });
    const steps: StepInfo[] = [];
    const r = await fit({ ...s, epochs: 2, batchScheduler: perBatch, onStep: (x) => void steps.push(x) });
    // each epoch of 4 batches runs down one cosine: 0.1, (1 + cos(pi/4))/2 · 0.1, 0.05, ...
    const cycle = [0, 1, 2, 3].map((t) => (0.1 * (1 + Math.cos((Math.PI * t) / 4))) / 2);
    steps.forEach((x, i) => expect(x.lr).toBeCloseTo(cycle[i % 4], 15));
    expect(perBatch.lastEpoch).toBe(8);
    expect(r.metrics.map((m) => m.lr)).toEqual([0.1, 0.1]); // an epoch records the lr it started at

    const t = setup();
    const perEpoch = new StepLR(t.optimizer, { stepSize: 1, gamma: 0.5 });
    const r2 = await fit({ ...t, epochs: 3, scheduler: perEpoch });
    expect(r2.metrics.map((m) => m.lr)).toEqual([0.1, 0.05, 0.025]);
  });
});

