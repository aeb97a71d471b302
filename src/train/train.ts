// The training loop: epochs of zeroGrad → forward → loss → backward → step, reporting
// through callbacks (the CLI draws bars and writes files; this file does neither).
import { MnistError } from '../engine/errors.ts';
import type { Rng, RngState } from '../engine/rng.ts';
import type { Tensor } from '../engine/tensor.ts';
import { CrossEntropyLoss } from '../nn/loss.ts';
import type { Module } from '../nn/module.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { EpochRecord } from '../weights/checkpoint.ts';
import { evaluate, type BatchSource } from './evaluate.ts';
import type { EpochPosition } from '../weights/resume.ts';
import { SliceStep } from './step.ts';

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

/** The single-thread training step: the slice step on the whole batch, then the optimizer. */
export function localStepper(model: Module, optimizer: Optimizer, lossFn = new CrossEntropyLoss()): Stepper {
  const slice = new SliceStep(model, lossFn, () => optimizer.zeroGrad());
  return {
    step(x, y) {
      const r = slice.run(x, y);
      if (!Number.isFinite(r.loss)) return { loss: r.loss, correct: 0 };
      optimizer.step();
      return r;
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

/** An epoch's training pass: its running sums, and where it stopped if shouldStop ended it early. */
interface EpochRun {
  batches: number;
  lossSum: number;
  correct: number;
  samples: number;
  seconds: number;
  /** The lr the epoch started at (a resumed epoch included): what its record shows. */
  lr: number;
  stoppedAt?: FitResult['position'];
}

/** Epochs of training batches, each followed by a test evaluation and onEpochEnd. */
export async function fit(o: FitOptions): Promise<FitResult> {
  const stepper = o.stepper ?? localStepper(o.model, o.optimizer);
  const metrics: EpochRecord[] = [];
  let epoch = o.startEpoch ?? 0;
  for (let resumeAt = o.resumeAt; epoch < o.epochs; resumeAt = undefined) {
    const run = await trainEpoch(o, stepper, epoch + 1, resumeAt);
    if (run.stoppedAt) return { metrics, stopped: true, epoch, position: run.stoppedAt };
    const m = finishEpoch(o, stepper, epoch + 1, run);
    metrics.push(m);
    epoch++;
    await o.onEpochEnd?.(m);
    if (o.shouldStop?.()) return { metrics, stopped: true, epoch };
  }
  return { metrics, stopped: false, epoch };
}

/** One pass over the shuffled batches (skipping those a resumed epoch already trained). */
async function trainEpoch(o: FitOptions, stepper: Stepper, current: number, resumeAt: EpochPosition | undefined): Promise<EpochRun> {
  const batches = o.train.count();
  o.model.train();
  const shuffleState = o.rng.getState();
  // a resumed epoch continues its sums and its clock
  const skip = resumeAt?.batchesDone ?? 0;
  let lossSum = resumeAt?.lossSum ?? 0, correct = resumeAt?.correct ?? 0, samples = resumeAt?.samples ?? 0, b = skip;
  const t0 = performance.now() - (resumeAt?.seconds ?? 0) * 1000;
  let lastYield = performance.now();
  const lr = o.batchScheduler?.lrAt?.((current - 1) * batches) ?? o.optimizer.lr;
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
      return { batches: b, lossSum, correct, samples, seconds, lr, stoppedAt: { batchesDone: b, batches, lossSum, correct, samples, seconds, shuffleState } };
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  o.onBatch?.({ epoch: current, batch: b, batches, samples, loss: lossSum / samples, accuracy: correct / samples, seconds });
  return { batches: b, lossSum, correct, samples, seconds, lr };
}

/** After the pass: the weights must be finite, the schedule moves on, the test split is evaluated. */
function finishEpoch(o: FitOptions, stepper: Stepper, current: number, run: EpochRun): EpochRecord {
  if (!finiteParams(o.model)) throw new DivergenceError(current, run.batches, NaN, 'the weights');
  o.scheduler?.step();
  const ev = evaluate(stepper.evaluator ?? o.model, o.test, o.classes);
  if (!Number.isFinite(ev.loss) && ev.count > 0) throw new DivergenceError(current, run.batches, ev.loss, 'the test loss');
  return {
    epoch: current,
    trainLoss: run.lossSum / run.samples,
    trainAccuracy: run.correct / run.samples,
    testLoss: ev.loss,
    testAccuracy: ev.accuracy,
    seconds: run.seconds,
    samplesPerSecond: run.samples / run.seconds,
    lr: run.lr,
  };
}
