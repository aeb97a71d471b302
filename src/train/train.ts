// The training loop: epochs of zeroGrad → forward → loss → backward → step, reporting
// through callbacks (the CLI draws bars and writes files; this file does neither).
import { MnistError } from '../engine/errors.ts';
import type { Rng, RngState } from '../engine/rng.ts';
import type { Tensor } from '../engine/tensor.ts';
import { CrossEntropyLoss, argmaxRows } from '../nn/loss.ts';
import type { Module } from '../nn/module.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { EpochRecord } from './checkpoint.ts';
import { evaluate, type BatchSource } from './evaluate.ts';
import type { EpochPosition } from './resume.ts';

/** Training stopped because the loss (or the weights) became NaN or infinite. */
export class DivergenceError extends MnistError {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly loss: number,
    /** What went non-finite, when not the training loss ("the weights", "the test loss"). */
    readonly what?: string,
  ) {
    super(
      what ? `training diverged: ${what} became ${loss} in epoch ${epoch} (after batch ${batch})` : `training diverged: loss is ${loss} at epoch ${epoch}, batch ${batch}`,
      'lower the learning rate (--lr); the weights file keeps the last good epoch',
    );
  }
}

/** One optimisation step's outcome, for per-batch logs. */
export interface StepInfo {
  epoch: number;
  batch: number;
  batches: number;
  /** This batch's mean loss and the number of its samples classified right. */
  loss: number;
  correct: number;
  size: number;
  lr: number;
}

export interface ShuffledSource {
  /** Batches per epoch. */
  count(): number;
  /** Number of samples per epoch. */
  readonly size: number;
  /** One epoch's batches from batch `from` on (a resumed epoch skips the ones it trained). */
  epoch(rng?: Rng, from?: number): Iterable<{ x: Tensor; y: Int32Array }>;
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
  /** Runs inference for the test evaluation (e.g. across worker threads); defaults to the model. */
  readonly evaluator?: Module;
}

/** A learning-rate schedule (StepLR, CosineAnnealingLR): step() moves it one interval on. */
export interface EpochScheduler {
  step(): void;
  /** The lr after n steps (a closed form: an epoch's record shows the lr it started at). */
  lrAt?(n: number): number;
}

export interface FitOptions {
  model: Module;
  optimizer: Optimizer;
  train: ShuffledSource;
  test: BatchSource;
  epochs: number;
  /** Epochs already completed (when resuming). */
  startEpoch?: number;
  /**
   * Resumes inside epoch startEpoch + 1: its first batchesDone batches are skipped (rng must hold
   * the state it had at that epoch's start, so the order is the same) and its running sums continue.
   */
  resumeAt?: EpochPosition;
  /** Shuffles each epoch; its state at an epoch's start fixes that epoch's order. */
  rng: Rng;
  /** Stepped after each epoch. */
  scheduler?: EpochScheduler;
  /** Stepped after each optimisation step (a schedule over the run's batches). */
  batchScheduler?: EpochScheduler;
  /** Replaces the single-thread step (e.g. with a multi-worker one). */
  stepper?: Stepper;
  classes?: number;
  /** Progress for bars, at most every 50 ms. */
  onBatch?: (p: BatchProgress) => void;
  /** After every optimisation step (cheap: per-batch logs). */
  onStep?: (s: StepInfo) => void;
  /** Called after each epoch's test evaluation; awaited (the CLI writes the checkpoint here). */
  onEpochEnd?: (m: EpochRecord) => void | Promise<void>;
  /** Polled after every batch; true ends training after the current batch. */
  shouldStop?: () => boolean;
}

/** The single-thread training step on the model itself. */
export function localStepper(model: Module, optimizer: Optimizer, lossFn = new CrossEntropyLoss()): Stepper {
  let pred = new Int32Array(0);
  // nothing reads the gradient of the images: the first layer may skip that product
  model.inputGrad = false;
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
  /** Set when training stopped inside epoch `epoch + 1`: how far it got, and rng's state at its start. */
  position?: EpochPosition & { batches: number; shuffleState: RngState };
}

/** True when every parameter value is finite (a diverged step can leave NaN without a NaN loss yet). */
function finiteParams(model: Module): boolean {
  for (const p of model.parameters()) {
    const d = p.value.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  }
  return true;
}

export async function fit(o: FitOptions): Promise<FitResult> {
  const metrics: EpochRecord[] = [];
  const stepper = o.stepper ?? localStepper(o.model, o.optimizer);
  const batches = o.train.count();
  let epoch = o.startEpoch ?? 0;
  let resumeAt = o.resumeAt;
  while (epoch < o.epochs) {
    const current = epoch + 1;
    o.model.train();
    const shuffleState = o.rng.getState();
    // a resumed epoch continues its sums and its clock
    const skip = resumeAt?.batchesDone ?? 0;
    let lossSum = resumeAt?.lossSum ?? 0, correct = resumeAt?.correct ?? 0, samples = resumeAt?.samples ?? 0, b = skip;
    const t0 = performance.now() - (resumeAt?.seconds ?? 0) * 1000;
    resumeAt = undefined;
    let lastYield = performance.now();
    // the lr the epoch started at (a resumed epoch included): what its record shows
    const epochLr = o.batchScheduler?.lrAt?.(epoch * batches) ?? o.optimizer.lr;
    for (const { x, y } of o.train.epoch(o.rng, skip)) {
      b++;
      const r = await stepper.step(x, y);
      if (!Number.isFinite(r.loss)) throw new DivergenceError(current, b, r.loss);
      const stepLr = o.optimizer.lr; // the lr this step used, before a batch schedule moves it
      o.batchScheduler?.step();
      lossSum += r.loss * y.length;
      correct += r.correct;
      samples += y.length;
      o.onStep?.({ epoch: current, batch: b, batches, loss: r.loss, correct: r.correct, size: y.length, lr: stepLr });
      const now = performance.now();
      // let timers (progress bar) and signal handlers run, without paying for it every batch
      if (now - lastYield > 50) {
        o.onBatch?.({ epoch: current, batch: b, batches, samples, loss: lossSum / samples, accuracy: correct / samples, seconds: (now - t0) / 1000 });
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (o.shouldStop?.()) {
        const seconds = (performance.now() - t0) / 1000;
        return { metrics, stopped: true, epoch, position: { batchesDone: b, batches, lossSum, correct, samples, seconds, shuffleState } };
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    o.onBatch?.({ epoch: current, batch: b, batches, samples, loss: lossSum / samples, accuracy: correct / samples, seconds });
    if (!finiteParams(o.model)) throw new DivergenceError(current, b, NaN, 'the weights');
    const lr = epochLr;
    o.scheduler?.step();
    const ev = evaluate(o.stepper?.evaluator ?? o.model, o.test, o.classes);
    if (!Number.isFinite(ev.loss) && ev.count > 0) throw new DivergenceError(current, b, ev.loss, 'the test loss');
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
