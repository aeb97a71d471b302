// The training loop: epochs of zeroGrad → forward → loss → backward → step, reporting
// through callbacks (the CLI draws bars and writes files; this file does neither).
import { MnistError } from '../engine/errors.ts';
import type { Rng } from '../engine/rng.ts';
import type { Tensor } from '../engine/tensor.ts';
import { CrossEntropyLoss, argmaxRows } from '../nn/loss.ts';
import type { Module } from '../nn/module.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { EpochRecord } from './checkpoint.ts';
import { evaluate, type BatchSource } from './evaluate.ts';

/** Training stopped because the loss became NaN or infinite. */
export class DivergenceError extends MnistError {
  constructor(readonly epoch: number, readonly batch: number, readonly loss: number) {
    super(
      `training diverged: loss is ${loss} at epoch ${epoch}, batch ${batch}`,
      'lower the learning rate (--lr); the weights file keeps the last good epoch',
    );
  }
}

export interface ShuffledSource {
  /** Batches per epoch. */
  count(): number;
  /** Number of samples per epoch. */
  readonly size: number;
  epoch(rng?: Rng): Iterable<{ x: Tensor; y: Int32Array }>;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  samples: number;
  /** Running mean loss and accuracy over the epoch so far. */
  loss: number;
  accuracy: number;
  seconds: number;
}

/** Computes one optimisation step; returns the batch loss and the number it got right. */
export interface Stepper {
  step(x: Tensor, y: Int32Array): Promise<{ loss: number; correct: number }> | { loss: number; correct: number };
}

/** Epoch-level learning-rate schedule (StepLR, CosineAnnealingLR). */
export interface EpochScheduler {
  step(): void;
}

export interface FitOptions {
  model: Module;
  optimizer: Optimizer;
  train: ShuffledSource;
  test: BatchSource;
  epochs: number;
  /** Epochs already completed (when resuming). */
  startEpoch?: number;
  rng: Rng;
  scheduler?: EpochScheduler;
  /** Replaces the single-thread step (e.g. with a multi-worker one). */
  stepper?: Stepper;
  classes?: number;
  onBatch?: (p: BatchProgress) => void;
  /** Called after each epoch's test evaluation; awaited (the CLI writes the checkpoint here). */
  onEpochEnd?: (m: EpochRecord) => void | Promise<void>;
  /** Polled after every batch; true ends training after the current batch. */
  shouldStop?: () => boolean;
}

/** The single-thread training step on the model itself. */
export function localStepper(model: Module, optimizer: Optimizer, lossFn = new CrossEntropyLoss()): Stepper {
  let pred = new Int32Array(0);
  return {
    step(x, y) {
      optimizer.zeroGrad();
      const logits = model.forward(x);
      const loss = lossFn.forward(logits, y);
      if (!Number.isFinite(loss)) return { loss, correct: 0 };
      model.backward(lossFn.backward());
      optimizer.step();
      if (pred.length !== y.length) pred = new Int32Array(y.length);
      argmaxRows(logits, pred);
      let correct = 0;
      for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) correct++;
      return { loss, correct };
    },
  };
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

export interface FitResult {
  metrics: EpochRecord[];
  /** True when shouldStop ended training early. */
  stopped: boolean;
  /** Last completed epoch. */
  epoch: number;
}

export async function fit(o: FitOptions): Promise<FitResult> {
  const metrics: EpochRecord[] = [];
  const stepper = o.stepper ?? localStepper(o.model, o.optimizer);
  const batches = o.train.count();
  let epoch = o.startEpoch ?? 0;
  while (epoch < o.epochs) {
    const current = epoch + 1;
    o.model.train();
    const t0 = performance.now();
    let lossSum = 0, correct = 0, samples = 0, b = 0;
    let lastYield = t0;
    for (const { x, y } of o.train.epoch(o.rng)) {
      b++;
      const r = await stepper.step(x, y);
      if (!Number.isFinite(r.loss)) throw new DivergenceError(current, b, r.loss);
      lossSum += r.loss * y.length;
      correct += r.correct;
      samples += y.length;
      const now = performance.now();
      // let timers (progress bar) and signal handlers run, without paying for it every batch
      if (now - lastYield > 50) {
        o.onBatch?.({ epoch: current, batch: b, batches, samples, loss: lossSum / samples, accuracy: correct / samples, seconds: (now - t0) / 1000 });
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (o.shouldStop?.()) return { metrics, stopped: true, epoch };
    }
    const seconds = (performance.now() - t0) / 1000;
    o.onBatch?.({ epoch: current, batch: b, batches, samples, loss: lossSum / samples, accuracy: correct / samples, seconds });
    const lr = o.optimizer.lr;
    o.scheduler?.step();
    const ev = evaluate(o.model, o.test, o.classes);
    const m: EpochRecord = {
      epoch: current,
      trainLoss: lossSum / samples,
      trainAccuracy: correct / samples,
      testLoss: ev.loss,
      testAccuracy: ev.accuracy,
      seconds,
      samplesPerSecond: samples / seconds,
      lr,
    };
    metrics.push(m);
    epoch = current;
    await o.onEpochEnd?.(m);
    if (o.shouldStop?.()) return { metrics, stopped: true, epoch };
  }
  return { metrics, stopped: false, epoch };
}
